import {
  DiscoveryV1Api,
  type KubeConfig,
  type V1EndpointConditions,
  type V1EndpointSlice,
} from '@kubernetes/client-node';
import type { InstanceHealth, InstanceInput, Registration } from '@switchyard/core';

/** Endpoint conditions that map back to `health` (with the default `draining: 'exclude'`). */
export function conditionsFor(health: InstanceHealth): V1EndpointConditions {
  switch (health) {
    case 'passing':
      return { ready: true, serving: true, terminating: false };
    case 'maintenance':
      // A Pod draining its connections: terminating, still serving.
      return { ready: false, serving: true, terminating: true };
    default:
      return { ready: false, serving: false, terminating: false };
  }
}

/** A manually managed EndpointSlice holding one instance (tags, metadata, region, weight in annotations). */
export function sliceFor(namespace: string, input: InstanceInput, health: InstanceHealth): V1EndpointSlice {
  const annotations: Record<string, string> = {};
  if (input.tags?.length) annotations['switchyard.io/tags'] = input.tags.join(',');
  for (const [k, v] of Object.entries(input.metadata ?? {})) annotations[`switchyard.io/meta.${k}`] = v;
  if (input.region) annotations['switchyard.io/region'] = input.region;
  if (input.weight !== undefined) annotations['switchyard.io/weight'] = String(input.weight);
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: {
      name: `${input.service}-${input.id}`.toLowerCase(),
      namespace,
      labels: {
        'kubernetes.io/service-name': input.service,
        'endpointslice.kubernetes.io/managed-by': 'switchyard-conformance',
      },
      annotations,
    },
    addressType: input.address.includes(':') ? 'IPv6' : 'IPv4',
    ports: [{ name: 'http', port: input.port, protocol: 'TCP' }],
    endpoints: [
      {
        addresses: [input.address],
        conditions: conditionsFor(health),
        ...(input.zone ? { zone: input.zone } : {}),
        targetRef: { kind: 'Pod', name: input.id, namespace },
      },
    ],
  };
}

/**
 * The conformance suite's registration hook for a read-only backend: each "registration" is an
 * EndpointSlice written through the Kubernetes API (works against the emulator and a real cluster).
 */
export function sliceRegistrar(kc: KubeConfig, namespace: string) {
  const api = kc.makeApiClient(DiscoveryV1Api);
  const live = new Set<string>();
  const register = async (input: InstanceInput): Promise<Registration> => {
    let health: InstanceHealth = input.health ?? 'passing';
    const body = sliceFor(namespace, input, health);
    const name = body.metadata!.name!;
    await api.createNamespacedEndpointSlice({ namespace, body });
    live.add(name);
    let closed = false;
    const handle: Registration = {
      instance: {
        ...input,
        tags: input.tags ?? [],
        metadata: input.metadata ?? {},
        weight: input.weight ?? 1,
        health,
      } as never,
      async setHealth(next) {
        health = next;
        const current = await api.readNamespacedEndpointSlice({ name, namespace });
        const fresh = sliceFor(namespace, input, health);
        fresh.metadata!.resourceVersion = current.metadata?.resourceVersion;
        await api.replaceNamespacedEndpointSlice({ name, namespace, body: fresh });
      },
      on: () => () => {},
      async close() {
        if (closed) return;
        closed = true;
        live.delete(name);
        await api.deleteNamespacedEndpointSlice({ name, namespace }).catch(() => {});
      },
      async [Symbol.asyncDispose]() {
        await handle.close();
      },
    };
    return handle;
  };
  /** Deletes what is left (a test that did not close its registrations). */
  const cleanup = async () => {
    await Promise.all(
      [...live].map((name) => api.deleteNamespacedEndpointSlice({ name, namespace }).catch(() => {})),
    );
    live.clear();
  };
  return { register, cleanup };
}

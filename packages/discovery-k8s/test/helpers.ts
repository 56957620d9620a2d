import type { DiscoveryBackend, DiscoveryEvent } from '@switchyard/core';
import type { KubeObject } from '@switchyard/testkit/emulators/k8s';

/** An EndpointSlice of `service` with one ready endpoint per pod (`pod-N` → 10.0.x.y). */
export function slice(
  namespace: string,
  service: string,
  name: string,
  pods: readonly (
    | string
    | { pod: string; ready?: boolean; terminating?: boolean; serving?: boolean; zone?: string }
  )[],
  extra: Partial<KubeObject> = {},
): KubeObject {
  return {
    kind: 'EndpointSlice',
    metadata: { name, namespace, labels: { 'kubernetes.io/service-name': service } },
    addressType: 'IPv4',
    ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
    endpoints: pods.map((p) => {
      const e = typeof p === 'string' ? { pod: p } : p;
      const n = Number.parseInt(e.pod.replace(/\D/g, '') || '0', 10);
      return {
        addresses: [`10.0.${(n >> 8) & 255}.${n & 255}`],
        conditions: {
          ready: e.ready ?? !e.terminating,
          serving: e.serving ?? e.ready ?? true,
          terminating: e.terminating ?? false,
        },
        targetRef: { kind: 'Pod', name: e.pod, namespace },
        ...(e.zone ? { zone: e.zone } : {}),
      };
    }),
    ...extra,
  };
}

/** Collects a watch's events in the background. */
export function collect(
  backend: DiscoveryBackend,
  service: string,
  filter?: Parameters<DiscoveryBackend['watch']>[1],
) {
  const events: DiscoveryEvent[] = [];
  const ac = new AbortController();
  let error: unknown;
  const done = (async () => {
    try {
      for await (const e of backend.watch(service, { ...filter, signal: ac.signal })) events.push(e);
    } catch (e) {
      error = e;
    }
  })();
  return {
    events,
    get error() {
      return error;
    },
    ids: () => (events.at(-1)?.snapshot.instances ?? []).map((i) => i.id),
    last: () => events.at(-1),
    /** Replays every diff over nothing: must equal the last snapshot (no drop, no ghost). */
    replayed: () => {
      const state = new Map<string, unknown>();
      for (const e of events) {
        for (const i of e.diff.added) {
          if (state.has(i.id)) throw new Error(`ghost: ${i.id} added twice`);
          state.set(i.id, i);
        }
        for (const i of e.diff.updated) state.set(i.id, i);
        for (const i of e.diff.removed) {
          if (!state.delete(i.id)) throw new Error(`removed ${i.id} that was not there`);
        }
      }
      return [...state.keys()].sort();
    },
    stop: async () => {
      ac.abort();
      await done;
    },
  };
}

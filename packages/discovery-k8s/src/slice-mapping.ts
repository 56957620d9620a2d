import type { InstanceHealth, ServiceInstance } from '@switchyard/core';

/** The fields of a `discovery.k8s.io/v1` EndpointSlice this package reads (raw JSON or client-node models). */
export interface EndpointSliceLike {
  metadata?: {
    name?: string;
    namespace?: string;
    labels?: Record<string, string> | null;
    annotations?: Record<string, string> | null;
  };
  addressType?: string;
  ports?:
    | readonly {
        name?: string | null;
        port?: number | null;
        protocol?: string | null;
        appProtocol?: string | null;
      }[]
    | null;
  endpoints?: readonly EndpointLike[] | null;
}

export interface EndpointLike {
  addresses?: readonly string[];
  conditions?: { ready?: boolean | null; serving?: boolean | null; terminating?: boolean | null } | null;
  hostname?: string | null;
  nodeName?: string | null;
  zone?: string | null;
  targetRef?: { kind?: string; name?: string; namespace?: string } | null;
  hints?: {
    forZones?: readonly { name: string }[] | null;
    forNodes?: readonly { name: string }[] | null;
  } | null;
}

export type AddressType = 'IPv4' | 'IPv6' | 'FQDN';

/**
 * What to do with endpoints that are terminating but still serving (a Pod draining its
 * connections): `exclude` reports them as `maintenance` (visible with a health filter, never picked
 * by default), `serve` as `passing`, `fallback` as `passing` only while the service has no other
 * passing endpoint (kube-proxy's behaviour since ProxyTerminatingEndpoints).
 */
export type DrainingPolicy = 'exclude' | 'serve' | 'fallback';

export interface MappingOptions {
  /** Port to use, by name; without it the slice's only port. A function picks per service. */
  portName: string | ((service: string) => string | undefined) | undefined;
  draining: DrainingPolicy;
  addressTypes: readonly AddressType[];
  /** The region of every instance (a cluster lives in one), unless a slice says otherwise. */
  region: string | undefined;
}

/** Labels the EndpointSlice controller sets for its own bookkeeping: not copied into metadata. */
const INTERNAL_LABELS = new Set([
  'kubernetes.io/service-name',
  'endpointslice.kubernetes.io/managed-by',
  'endpointslice.kubernetes.io/skip-mirror',
]);

/** Annotations a manually managed slice may carry for what Kubernetes has no field for. */
export const ANNOTATIONS = Object.freeze({
  tags: 'switchyard.io/tags',
  weight: 'switchyard.io/weight',
  region: 'switchyard.io/region',
  metaPrefix: 'switchyard.io/meta.',
});

export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';

/** A slice's conditions as health (nil `ready` = unknown = ready; nil `serving` defers to `ready`). */
export function endpointHealth(
  conditions: EndpointLike['conditions'],
  draining: DrainingPolicy,
): InstanceHealth {
  const terminating = conditions?.terminating === true;
  const ready = conditions?.ready ?? !terminating;
  if (!terminating) return ready ? 'passing' : 'critical';
  const serving = conditions?.serving ?? ready;
  if (!serving) return 'critical';
  return draining === 'serve' ? 'passing' : 'maintenance';
}

/** Why a slice gave no instances (for the `k8s:unmapped` diagnostic), or the port to use. */
export function pickPort(
  slice: EndpointSliceLike,
  portName: string | undefined,
): { port: NonNullable<EndpointSliceLike['ports']>[number] } | { problem: string } {
  const ports = (slice.ports ?? []).filter((p) => typeof p.port === 'number');
  if (portName !== undefined) {
    const p = ports.find((x) => (x.name ?? '') === portName);
    return p ? { port: p } : { problem: `has no port named "${portName}"` };
  }
  if (ports.length === 1) return { port: ports[0]! };
  if (ports.length === 0) return { problem: 'has no port (set on the Service, or use portName)' };
  const unnamed = ports.filter((p) => !p.name);
  if (unnamed.length === 1) return { port: unnamed[0]! };
  return {
    problem: `has ${ports.length} ports (${ports.map((p) => p.name || '""').join(', ')}): set portName`,
  };
}

const freezeAll = (i: ServiceInstance) => {
  Object.freeze(i.tags);
  Object.freeze(i.metadata);
  return Object.freeze(i);
};

/** The instances of one slice. `service` is the Switchyard service name (`name` or `name.namespace`). */
export function sliceInstances(
  service: string,
  slice: EndpointSliceLike,
  o: MappingOptions,
): { instances: ServiceInstance[]; problem?: string } {
  const addressType = (slice.addressType ?? 'IPv4') as AddressType;
  if (!o.addressTypes.includes(addressType)) return { instances: [] };
  const endpoints = slice.endpoints ?? [];
  if (endpoints.length === 0) return { instances: [] };
  const portName = typeof o.portName === 'function' ? o.portName(service) : o.portName;
  const picked = pickPort(slice, portName);
  if ('problem' in picked) return { instances: [], problem: picked.problem };
  const port = picked.port;
  const labels = slice.metadata?.labels ?? {};
  const annotations = slice.metadata?.annotations ?? {};
  const shared: Record<string, string> = {};
  for (const [k, v] of Object.entries(labels)) if (!INTERNAL_LABELS.has(k)) shared[k] = v;
  for (const [k, v] of Object.entries(annotations)) {
    if (k.startsWith(ANNOTATIONS.metaPrefix)) shared[k.slice(ANNOTATIONS.metaPrefix.length)] = v;
  }
  shared['k8s.namespace'] = slice.metadata?.namespace ?? '';
  shared['k8s.slice'] = slice.metadata?.name ?? '';
  shared['k8s.addressType'] = addressType;
  shared['k8s.protocol'] = port.protocol ?? 'TCP';
  if (port.name) shared['k8s.portName'] = port.name;
  if (port.appProtocol) shared['k8s.appProtocol'] = port.appProtocol;
  const tags = (annotations[ANNOTATIONS.tags] ?? '')
    .split(',')
    .map((t) => t.trim())
    .filter(Boolean);
  const weightText = annotations[ANNOTATIONS.weight];
  const weight = weightText !== undefined && Number(weightText) >= 0 ? Number(weightText) : 1;
  const region = annotations[ANNOTATIONS.region] ?? o.region;
  const instances: ServiceInstance[] = [];
  for (const e of endpoints) {
    const address = e.addresses?.[0];
    if (!address) continue;
    const pod = e.targetRef?.kind === 'Pod' ? e.targetRef.name : undefined;
    const base = e.targetRef?.name ?? e.hostname ?? address;
    // Dual-stack: the same Pod is in an IPv4 and an IPv6 slice; the id keeps them apart.
    const id = addressType === 'IPv6' && base !== address ? `${base}@ipv6` : base;
    const c = e.conditions;
    const terminating = c?.terminating === true;
    const ready = c?.ready ?? !terminating;
    const metadata: Record<string, string> = {
      ...shared,
      'k8s.ready': String(ready),
      'k8s.serving': String(c?.serving ?? ready),
      'k8s.terminating': String(terminating),
    };
    if (e.nodeName) metadata['k8s.node'] = e.nodeName;
    if (pod) metadata['k8s.pod'] = pod;
    if (e.hostname) metadata['k8s.hostname'] = e.hostname;
    const zones = e.hints?.forZones?.map((z) => z.name).filter(Boolean) ?? [];
    if (zones.length > 0) metadata['k8s.hints.zones'] = zones.join(',');
    const nodes = e.hints?.forNodes?.map((n) => n.name).filter(Boolean) ?? [];
    if (nodes.length > 0) metadata['k8s.hints.nodes'] = nodes.join(',');
    instances.push({
      id,
      service,
      address,
      port: port.port!,
      tags: [...tags],
      metadata,
      weight,
      zone: e.zone ?? undefined,
      region,
      health: endpointHealth(c, o.draining),
    });
  }
  return { instances: instances.map(freezeAll) };
}

const RANK: Record<InstanceHealth, number> = { passing: 0, warning: 1, maintenance: 2, critical: 3 };

/**
 * Merges the instances of a service's slices: one instance per id (an endpoint listed by two slices
 * while the controller moves it keeps its healthiest entry), and the `fallback` draining policy.
 */
export function mergeInstances(
  lists: readonly (readonly ServiceInstance[])[],
  draining: DrainingPolicy,
): ServiceInstance[] {
  const byId = new Map<string, ServiceInstance>();
  for (const list of lists) {
    for (const inst of list) {
      const have = byId.get(inst.id);
      if (!have || RANK[inst.health] < RANK[have.health]) byId.set(inst.id, inst);
    }
  }
  const all = [...byId.values()];
  if (draining === 'fallback' && !all.some((i) => i.health === 'passing')) {
    return all.map((i) =>
      i.health === 'maintenance' && i.metadata['k8s.terminating'] === 'true'
        ? freezeAll({ ...i, health: 'passing' })
        : i,
    );
  }
  return all;
}

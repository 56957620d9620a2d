import { type InstanceHealth, invalidArgument, type ServiceInstance } from '@switchyard/core';
import type { CheckSpec } from './check-spec.js';
import { type MetaKeys, PKG } from './options.js';

/** Consul's health-entry shape as `/v1/health/service/:name` returns it (fields we read). */
export interface HealthEntry {
  Node?: { Node?: string; Address?: string };
  Service?: {
    ID?: string;
    Service?: string;
    Tags?: string[] | null;
    Address?: string;
    Port?: number;
    Meta?: Record<string, string> | null;
    Weights?: { Passing?: number; Warning?: number } | null;
  };
  Checks?: { CheckID?: string; Status?: string; ServiceID?: string }[] | null;
}

const MAINTENANCE_CHECK = /^_(service|node)_maintenance(:|$)/;
const SEVERITY: Record<string, number> = { passing: 0, warning: 1, critical: 2 };

/** Consul's service ID for an instance: `<service>:<id>` when prefixing (ids unique per service), else the id. */
export function consulServiceId(instance: Pick<ServiceInstance, 'service' | 'id'>, prefix: boolean): string {
  return prefix ? `${instance.service}:${instance.id}` : instance.id;
}

/** Consul's maintenance check wins; otherwise the worst check status (no checks → passing). */
export function aggregateHealth(checks: HealthEntry['Checks']): InstanceHealth {
  let worst = 0;
  for (const c of checks ?? []) {
    if (MAINTENANCE_CHECK.test(c.CheckID ?? '') && c.Status === 'critical') return 'maintenance';
    worst = Math.max(worst, SEVERITY[c.Status ?? 'critical'] ?? 2);
  }
  return worst === 0 ? 'passing' : worst === 1 ? 'warning' : 'critical';
}

/**
 * The instances of a health answer. Consul keys a service instance by node + service ID (the same
 * ID on two nodes is two instances: IDs are unique per agent only), so an ID found on one node is
 * the instance id as registered, and an ID found on several nodes becomes `<id>@<node>` for each
 * of them: every reader of the same answer derives the same ids, and no two instances share one.
 */
export function decodeEntries(
  entries: readonly HealthEntry[],
  keys: MetaKeys,
  prefix: boolean,
): ServiceInstance[] {
  const decoded: { instance: ServiceInstance; node: string }[] = [];
  const firstNode = new Map<string, string>();
  let shared: Set<string> | undefined;
  for (const entry of entries) {
    const instance = fromHealthEntry(entry, keys, prefix);
    if (!instance) continue;
    const node = entry.Node?.Node ?? '';
    const seen = firstNode.get(instance.id);
    if (seen === node) continue; // one node cannot hold an ID twice
    if (seen === undefined) firstNode.set(instance.id, node);
    else {
      shared ??= new Set();
      shared.add(instance.id);
    }
    decoded.push({ instance, node });
  }
  if (!shared) return decoded.map((d) => d.instance);
  const ids = shared;
  return decoded.map(({ instance, node }) =>
    ids.has(instance.id) ? Object.freeze({ ...instance, id: `${instance.id}@${node}` }) : instance,
  );
}

/** A health entry as a Switchyard instance: zone/region/weight come out of Meta, Meta keys we own are hidden. */
export function fromHealthEntry(
  entry: HealthEntry,
  keys: MetaKeys,
  prefix: boolean,
): ServiceInstance | undefined {
  const svc = entry.Service;
  if (!svc?.Service || !svc.ID) return undefined;
  const meta = { ...(svc.Meta ?? {}) };
  const zone = meta[keys.zone];
  const region = meta[keys.region];
  const weightText = meta[keys.weight];
  delete meta[keys.zone];
  delete meta[keys.region];
  delete meta[keys.weight];
  const parsedWeight = weightText === undefined ? Number.NaN : Number(weightText);
  const weight =
    Number.isFinite(parsedWeight) && parsedWeight >= 0 ? parsedWeight : (svc.Weights?.Passing ?? 1);
  const idPrefix = `${svc.Service}:`;
  return Object.freeze({
    id: prefix && svc.ID.startsWith(idPrefix) ? svc.ID.slice(idPrefix.length) : svc.ID,
    service: svc.Service,
    address: svc.Address || entry.Node?.Address || '',
    port: svc.Port ?? 0,
    tags: Object.freeze([...(svc.Tags ?? [])]),
    metadata: Object.freeze(meta),
    weight,
    zone: zone || undefined,
    region: region || undefined,
    health: aggregateHealth(entry.Checks),
  });
}

/** The body of `PUT /v1/agent/service/register` for an instance with its heartbeat (TTL) check. */
export function registrationBody(
  instance: ServiceInstance,
  opts: {
    keys: MetaKeys;
    prefix: boolean;
    ttl: number;
    deregisterAfter: number;
    checks: readonly CheckSpec[];
    ttlCheckId: string;
  },
): Record<string, unknown> {
  const meta: Record<string, string> = { ...instance.metadata };
  // Core checked the sizes and the key alphabet (INSTANCE_LIMITS); Consul also reserves `consul-`.
  for (const [field, key] of Object.entries(opts.keys)) {
    if (key in instance.metadata)
      throw invalidArgument(PKG, `instance.metadata.${key}`, `is reserved for the instance's ${field}`);
  }
  for (const k of Object.keys(instance.metadata)) {
    if (k.startsWith('consul-'))
      throw invalidArgument(
        PKG,
        `instance.metadata.${k}`,
        'must not start with "consul-" (reserved by Consul)',
      );
  }
  if (instance.zone !== undefined) meta[opts.keys.zone] = instance.zone;
  if (instance.region !== undefined) meta[opts.keys.region] = instance.region;
  // Consul weights are integers >= 1; anything else travels in Meta and wins when read back.
  const integral =
    Number.isInteger(instance.weight) && instance.weight >= 1 && instance.weight <= 2 ** 31 - 1;
  if (!integral) meta[opts.keys.weight] = String(instance.weight);
  const own = Object.keys(meta).length - Object.keys(instance.metadata).length;
  if (Object.keys(meta).length > 64) {
    throw invalidArgument(
      PKG,
      'instance.metadata',
      `must have at most ${64 - own} entries: Consul allows 64 Meta pairs and ${own} hold the zone/region/weight`,
    );
  }
  const status = instance.health === 'maintenance' ? 'passing' : instance.health;
  const checks: Record<string, unknown>[] = [
    {
      CheckID: opts.ttlCheckId,
      Name: `Switchyard heartbeat for ${instance.service}/${instance.id}`,
      TTL: `${opts.ttl}ms`,
      Status: status,
      Notes: 'Renewed by the @switchyard/discovery-consul registration handle',
      ...(opts.deregisterAfter > 0 ? { DeregisterCriticalServiceAfter: `${opts.deregisterAfter}ms` } : {}),
    },
    ...opts.checks.map((c, i) => ({
      CheckID: `${opts.ttlCheckId.replace(/:ttl$/, '')}:${i + 1}`,
      Name: c.name ?? `${c.http ? 'HTTP' : 'TCP'} check ${i + 1} for ${instance.service}/${instance.id}`,
      ...(c.http ? { HTTP: c.http, Method: c.method ?? 'GET', Header: c.header ?? {} } : { TCP: c.tcp }),
      Interval: `${c.interval}ms`,
      ...(c.status !== undefined ? { Status: c.status } : {}),
      ...(c.timeout !== undefined ? { Timeout: `${c.timeout}ms` } : {}),
      ...(c.deregisterCriticalServiceAfter !== undefined
        ? { DeregisterCriticalServiceAfter: `${c.deregisterCriticalServiceAfter}ms` }
        : {}),
    })),
  ];
  return {
    ID: consulServiceId(instance, opts.prefix),
    Name: instance.service,
    Tags: [...instance.tags],
    Address: instance.address,
    Port: instance.port,
    Meta: meta,
    Weights: integral ? { Passing: instance.weight, Warning: instance.weight } : { Passing: 1, Warning: 1 },
    Checks: checks,
  };
}

import type { DiscoveryBackend, InstanceHealth, ServiceInstance, TrafficRules } from '@switchyard/core';
import type { ConsoleModule, ConsoleRequest, ConsoleRoute } from '../console-module.js';
import type { WritableRulesSource } from '../console-options.js';
import { badRequest, HttpError } from '../http/http-error.js';
import { pageOf } from './paging.js';
import { SharedFeeds } from './shared-feed.js';

const ALL_HEALTH: readonly InstanceHealth[] = ['passing', 'warning', 'critical', 'maintenance'];
const all = { filter: { health: ALL_HEALTH } };

/** An instance as the page shows it: the discovery fields plus whether the rules pull it out. */
export interface InstanceView extends ServiceInstance {
  readonly pulledOut: boolean;
  /** Why: `instance`, `zone` or `server` (host); absent when in rotation. */
  readonly pulledBy?: 'instance' | 'zone' | 'server';
  /** When this console first saw the instance (registration age as far as it can tell). */
  readonly firstSeen: string;
}

function pulledBy(rules: TrafficRules, i: ServiceInstance): InstanceView['pulledBy'] {
  if (rules.pulledInstances?.some((r) => r.service === i.service && r.id === i.id)) return 'instance';
  if (i.zone && rules.pulledZones?.some((z) => z.zone === i.zone && (z.service ?? i.service) === i.service)) {
    return 'zone';
  }
  if (rules.pulledServers?.includes(i.address)) return 'server';
  return undefined;
}

/** The Services page: services with counts, live instance tables, and audited pull-out / pull-in. */
export function servicesModule(
  discovery: DiscoveryBackend,
  rules: WritableRulesSource | undefined,
): ConsoleModule {
  const firstSeen = new Map<string, string>();
  const view = (instances: readonly ServiceInstance[]): InstanceView[] => {
    const current = rules?.current() ?? {};
    return instances.map((i) => {
      const key = `${i.service}\u0000${i.id}`;
      let seen = firstSeen.get(key);
      if (!seen) {
        seen = new Date().toISOString();
        firstSeen.set(key, seen);
      }
      const by = pulledBy(current, i);
      return { ...i, pulledOut: by !== undefined, ...(by ? { pulledBy: by } : {}), firstSeen: seen };
    });
  };
  const resolve = async (service: string, signal: AbortSignal) => {
    const snap = await discovery.resolve(service, { ...all, signal });
    return { service, revision: snap.revision, instances: view(snap.instances), rulesWritable: !!rules };
  };
  const needRules = (): WritableRulesSource => {
    if (!rules) throw new HttpError(409, 'NO_RULES', 'the console was started without a rules source');
    return rules;
  };
  const instanceRef = (req: ConsoleRequest) => ({ service: req.params['service']!, id: req.params['id']! });
  const zoneRef = (req: ConsoleRequest) => {
    const service = req.body['service'];
    if (service !== undefined && (typeof service !== 'string' || service === '')) {
      throw badRequest('service', 'must be a service name or omitted (every service)');
    }
    return { zone: req.params['zone']!, ...(service ? { service } : {}) };
  };
  /** How many instances of each affected service stay in rotation after `next` applies. */
  const impact = async (next: TrafficRules, services: readonly string[], signal: AbortSignal) => {
    const out: { service: string; inRotationBefore: number; inRotationAfter: number }[] = [];
    const before = rules?.current() ?? {};
    for (const service of services) {
      const snap = await discovery.resolve(service, { ...all, signal });
      const count = (r: TrafficRules) =>
        snap.instances.filter((i) => i.health === 'passing' && pulledBy(r, i) === undefined).length;
      out.push({ service, inRotationBefore: count(before), inRotationAfter: count(next) });
    }
    return out;
  };
  const change = (
    pattern: string,
    target: (req: ConsoleRequest) => string,
    next: (current: TrafficRules, req: ConsoleRequest) => TrafficRules,
    affected: (req: ConsoleRequest) => Promise<string[]>,
  ): ConsoleRoute => ({
    method: 'POST',
    pattern,
    mutation: {
      target,
      async preview(req) {
        const proposed = next(needRules().current(), req);
        const counts = await impact(proposed, await affected(req), req.signal);
        const empty = counts.filter((c) => c.inRotationAfter === 0 && c.inRotationBefore > 0);
        const warning = empty.length
          ? ` WARNING: leaves no instance in rotation for ${empty.map((c) => c.service).join(', ')}`
          : '';
        return { summary: `${target(req)}${warning}`, details: { impact: counts } };
      },
    },
    async handle(req) {
      const source = needRules();
      await source.set(next(source.current(), req));
      return { rules: source.current() };
    },
  });
  const sameInstance = (a: { service: string; id: string }, b: { service: string; id: string }) =>
    a.service === b.service && a.id === b.id;
  const sameZone = (a: { zone: string; service?: string }, b: { zone: string; service?: string }) =>
    a.zone === b.zone && a.service === b.service;

  /** One discovery watch per service, shared by every page streaming it (encoded once per change). */
  const feeds = new SharedFeeds<string>(async (service, publish, signal) => {
    let last: readonly ServiceInstance[] = [];
    let revision = 0;
    let started = false;
    const push = () => publish({ service, revision, instances: view(last), rulesWritable: !!rules });
    const unsubscribe = (rules as { subscribe?: (l: () => void) => () => void } | undefined)?.subscribe?.(
      () => {
        if (started) push();
      },
    );
    try {
      for await (const ev of discovery.watch(service, { ...all, signal })) {
        last = ev.snapshot.instances;
        revision = ev.snapshot.revision;
        started = true;
        push();
      }
    } finally {
      unsubscribe?.();
    }
  });

  const routes: ConsoleRoute[] = [
    {
      method: 'GET',
      pattern: '/api/services',
      async handle(req) {
        const q = req.query.get('q') ?? '';
        const names = (await discovery.services({ signal: req.signal })).filter((n) => n.includes(q)).sort();
        const page = pageOf(names, req.query);
        const services = await Promise.all(
          page.items.map(async (name) => {
            const { instances } = await resolve(name, req.signal);
            return {
              name,
              instances: instances.length,
              passing: instances.filter((i) => i.health === 'passing').length,
              pulledOut: instances.filter((i) => i.pulledOut).length,
              zones: [...new Set(instances.map((i) => i.zone).filter(Boolean))].sort(),
            };
          }),
        );
        return { services, total: page.total, offset: page.offset, limit: page.limit };
      },
    },
    {
      method: 'GET',
      pattern: '/api/services/:service',
      handle: (req) => resolve(req.params['service']!, req.signal),
    },
    {
      method: 'GET',
      pattern: '/api/services/:service/events',
      stream: (req, send) => feeds.subscribe(req.params['service']!, send, req.signal),
    },
    {
      method: 'GET',
      pattern: '/api/rules',
      handle: async () => ({ rules: rules?.current() ?? {}, writable: !!rules }),
    },
    change(
      '/api/services/:service/instances/:id/pull-out',
      (req) => `pull out instance ${req.params['id']} of ${req.params['service']}`,
      (cur, req) => {
        const ref = instanceRef(req);
        const list = cur.pulledInstances ?? [];
        return list.some((r) => sameInstance(r, ref)) ? cur : { ...cur, pulledInstances: [...list, ref] };
      },
      async (req) => [req.params['service']!],
    ),
    change(
      '/api/services/:service/instances/:id/pull-in',
      (req) => `pull in instance ${req.params['id']} of ${req.params['service']}`,
      (cur, req) => ({
        ...cur,
        pulledInstances: (cur.pulledInstances ?? []).filter((r) => !sameInstance(r, instanceRef(req))),
      }),
      async (req) => [req.params['service']!],
    ),
    change(
      '/api/zones/:zone/pull-out',
      (req) => `pull out zone ${req.params['zone']} for ${zoneRef(req).service ?? 'every service'}`,
      (cur, req) => {
        const ref = zoneRef(req);
        const list = cur.pulledZones ?? [];
        return list.some((z) => sameZone(z, ref)) ? cur : { ...cur, pulledZones: [...list, ref] };
      },
      async (req) => {
        const ref = zoneRef(req);
        return ref.service ? [ref.service] : discovery.services({ signal: req.signal });
      },
    ),
    change(
      '/api/zones/:zone/pull-in',
      (req) => `pull in zone ${req.params['zone']} for ${zoneRef(req).service ?? 'every service'}`,
      (cur, req) => ({
        ...cur,
        pulledZones: (cur.pulledZones ?? []).filter((z) => !sameZone(z, zoneRef(req))),
      }),
      async (req) => {
        const ref = zoneRef(req);
        return ref.service ? [ref.service] : discovery.services({ signal: req.signal });
      },
    ),
  ];
  return { name: 'services', title: 'Services', routes, close: () => feeds.close() };
}

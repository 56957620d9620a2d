import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { invalidArgument } from '../errors.js';
import { DIAGNOSTICS_PREFIX } from '../primitives/diagnostics.js';
import { type Labels, Metric } from './metric-registry.js';

const PKG = 'core';

/** The `Content-Type` of the text exposition format. */
export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/** Default histogram buckets, seconds (loader durations, stale periods). */
export const DEFAULT_SECONDS_BUCKETS: readonly number[] = [
  0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300,
];

export interface PrometheusExporterOptions {
  /** Prefix of every metric name (default `switchyard_`). */
  prefix?: string;
  /**
   * Maps a lock key to a bounded `lock` label value (`(key) => key.split(':')[0]`), or `undefined`
   * to leave it out (the default: no key label; lock keys are usually unbounded).
   */
  lockKeyLabel?: (key: string) => string | undefined;
  /** Most label sets per metric; later ones are folded into one `_other` series (default 500). */
  maxSeries?: number;
  /** Histogram buckets in seconds (default {@link DEFAULT_SECONDS_BUCKETS}). */
  buckets?: readonly number[];
}

/** Collects Switchyard's diagnostics events as Prometheus metrics; `close()` unsubscribes. */
export interface PrometheusExporter extends Disposable {
  /** The current metrics in the text exposition format (what `/metrics` returns). */
  metrics(): string;
  /** A `node:http` request handler answering with {@link PrometheusExporter.metrics}. */
  readonly handler: (req: IncomingMessage, res: ServerResponse) => void;
  readonly contentType: string;
  close(): void;
  readonly closed: boolean;
}

type Payload = Record<string, unknown>;
const str = (v: unknown): string => (typeof v === 'string' ? v : v === undefined ? '' : String(v));
const len = (v: unknown): number => (Array.isArray(v) ? v.length : 0);

/**
 * A Prometheus exporter over the `node:diagnostics_channel` events every Switchyard package
 * publishes (locks, discovery, the load balancer, the cache): counters named `_total`, durations in
 * `_seconds`, labels that are bounded (package, backend, service, cache and namespace names; never
 * keys or instance ids). No dependency: it writes the text format itself. Works across several
 * copies of core in one process (channels are process-global).
 */
export function createPrometheusExporter(options: PrometheusExporterOptions = {}): PrometheusExporter {
  const prefix = options.prefix ?? 'switchyard_';
  if (!/^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(prefix)) {
    throw invalidArgument(PKG, 'prefix', 'must match [a-zA-Z_:][a-zA-Z0-9_:]* (a metric name prefix)');
  }
  const maxSeries = options.maxSeries ?? 500;
  if (!Number.isInteger(maxSeries) || maxSeries < 1)
    throw invalidArgument(PKG, 'maxSeries', 'must be an integer >= 1');
  const buckets = [...(options.buckets ?? DEFAULT_SECONDS_BUCKETS)].sort((a, b) => a - b);
  if (buckets.some((b) => !Number.isFinite(b)))
    throw invalidArgument(PKG, 'buckets', 'must be finite numbers');
  const { lockKeyLabel } = options;
  if (lockKeyLabel !== undefined && typeof lockKeyLabel !== 'function') {
    throw invalidArgument(PKG, 'lockKeyLabel', 'must be a function (key) => string | undefined');
  }

  const metrics: Metric[] = [];
  const counter = (name: string, help: string, labels: readonly string[]) =>
    add(new Metric(`${prefix}${name}_total`, 'counter', help, labels, maxSeries));
  const gauge = (name: string, help: string, labels: readonly string[]) =>
    add(new Metric(`${prefix}${name}`, 'gauge', help, labels, maxSeries));
  const histogram = (name: string, help: string, labels: readonly string[]) =>
    add(new Metric(`${prefix}${name}_seconds`, 'histogram', help, labels, maxSeries, buckets));
  function add(m: Metric): Metric {
    metrics.push(m);
    return m;
  }

  const lockLabels = lockKeyLabel ? ['source', 'lock'] : ['source'];
  const lock = {
    acquired: counter('lock_acquired', 'Lock leases acquired', lockLabels),
    released: counter('lock_released', 'Lock leases released by their holder', lockLabels),
    lost: counter(
      'lock_lost',
      'Lock leases lost before release (expiry, forced release, backend loss)',
      lockLabels,
    ),
    held: gauge('lock_held', 'Lock leases held now by this process', lockLabels),
  };
  const reg = {
    lost: counter('registration_lost', 'Service registrations the backend lost', ['source', 'service']),
    restored: counter('registration_restored', 'Lost service registrations restored', ['source', 'service']),
  };
  const dl = ['backend', 'service'];
  const disc = {
    stale: counter('discovery_stale', 'Discovery caches that went stale (watch down or silent)', dl),
    recovered: counter('discovery_recovered', 'Stale discovery caches that recovered', dl),
    staleDuration: histogram('discovery_stale_duration', 'How long a discovery cache was stale', dl),
    resync: counter('discovery_resync', 'Relists that found the discovery cache out of date', [
      ...dl,
      'after_outage',
    ]),
    missed: counter(
      'discovery_missed_changes',
      'Instance changes found by relists (what the watch missed)',
      dl,
    ),
    panic: counter('discovery_panic', 'Panic-threshold transitions', [...dl, 'active']),
    errors: counter('discovery_errors', 'Background discovery operations that failed', [...dl, 'during']),
    regressions: counter('discovery_regressions', 'Backend indexes that went backwards (relisted)', dl),
    watchErrors: counter(
      'discovery_watch_errors',
      'Backend watch streams that failed (resumed or relisted)',
      dl,
    ),
  };
  const lb = {
    instances: gauge('balancer_instances', 'Instances the load balancer routes to', ['service']),
    breaker: counter('balancer_breaker_transitions', 'Circuit breaker state changes', ['service', 'state']),
    ejected: counter('balancer_ejections', 'Endpoints ejected by outlier detection', ['service']),
    returned: counter('balancer_returns', 'Ejected endpoints returned to rotation', ['service']),
    watchErrors: counter('balancer_watch_errors', "Failures of the balancer's discovery watch", ['service']),
    budget: counter('balancer_budget_exhausted', 'Retries or hedges the retry budget refused', [
      'service',
      'kind',
    ]),
  };
  const cl = ['cache', 'namespace'];
  const cache = {
    hits: counter('cache_hits', 'Cache hits by tier (0 = first tier)', [...cl, 'tier']),
    misses: counter('cache_misses', 'Cache misses', cl),
    stale: counter('cache_stale_served', 'Stale values served', [...cl, 'reason']),
    loads: counter('cache_loads', 'Loader calls that completed', [...cl, 'negative']),
    loadDuration: histogram('cache_load_duration', 'Loader duration', cl),
    refreshes: counter('cache_refreshes', 'Background refreshes started', [...cl, 'reason']),
    deleted: counter('cache_deleted_keys', 'Keys deleted', cl),
    tags: counter('cache_tag_invalidations', 'Tag invalidations', [...cl, 'mode']),
    evicted: counter('cache_evictions', 'L1 evictions', ['cache', 'reason']),
    errors: counter('cache_errors', 'Failures the cache absorbed', [...cl, 'operation']),
    gaps: counter('cache_bus_gaps', 'Invalidation-bus sequence gaps (lost messages)', cl),
    flushes: counter('cache_l1_flushes', 'L1 flushes because invalidations may have been missed', [
      ...cl,
      'reason',
    ]),
    busConnected: gauge('cache_bus_connected', 'Whether the invalidation bus is connected (1) or not (0)', [
      'cache',
    ]),
  };

  const lockL = (p: Payload): Labels => {
    const labels: Record<string, string> = { source: str(p.source) };
    if (lockKeyLabel) labels.lock = lockKeyLabel(str(p.key)) ?? '';
    return labels;
  };
  const discL = (p: Payload): Labels => ({ backend: str(p.backend ?? p.source), service: str(p.service) });
  const cacheL = (p: Payload): Labels => ({ cache: str(p.cache), namespace: str(p.namespace) });
  const diffSize = (d: unknown): number => {
    const x = (d ?? {}) as Payload;
    return len(x.added) + len(x.removed) + len(x.updated);
  };
  const heldDelta = (p: Payload, by: number) => {
    const l = lockL(p);
    lock.held.set(l, Math.max(0, lock.held.value(l) + by));
  };

  const handlers: Record<string, (p: Payload) => void> = {
    'lease:acquired': (p) => {
      lock.acquired.inc(lockL(p));
      heldDelta(p, 1);
    },
    'lease:released': (p) => {
      lock.released.inc(lockL(p));
      heldDelta(p, -1);
    },
    'lease:lost': (p) => {
      lock.lost.inc(lockL(p));
      heldDelta(p, -1);
    },
    'registration:lost': (p) =>
      reg.lost.inc({ source: str(p.source), service: str((p.instance as Payload | undefined)?.service) }),
    'registration:restored': (p) =>
      reg.restored.inc({ source: str(p.source), service: str((p.instance as Payload | undefined)?.service) }),
    'discovery:stale': (p) => disc.stale.inc(discL(p)),
    'discovery:recovered': (p) => {
      disc.recovered.inc(discL(p));
      disc.staleDuration.observe(discL(p), Math.max(0, Number(p.staleFor) || 0) / 1000);
    },
    'discovery:resync': (p) => {
      disc.resync.inc({ ...discL(p), after_outage: String(p.afterOutage === true) });
      disc.missed.inc(discL(p), diffSize(p.diff));
    },
    'discovery:panic': (p) => disc.panic.inc({ ...discL(p), active: String(p.active === true) }),
    'discovery:error': (p) => disc.errors.inc({ ...discL(p), during: str(p.during) }),
    'discovery:regression': (p) => disc.regressions.inc(discL(p)),
    'discovery:watch-error': (p) => disc.watchErrors.inc(discL(p)),
    'balancer:instances-changed': (p) => lb.instances.set({ service: str(p.service) }, len(p.instances)),
    'balancer:breaker-changed': (p) => lb.breaker.inc({ service: str(p.service), state: str(p.state) }),
    'balancer:ejected': (p) => lb.ejected.inc({ service: str(p.service) }),
    'balancer:returned': (p) => lb.returned.inc({ service: str(p.service) }),
    'balancer:watch-error': (p) => lb.watchErrors.inc({ service: str(p.service) }),
    'balancer:budget-exhausted': (p) => lb.budget.inc({ service: str(p.service), kind: str(p.kind) }),
    'cache:hit': (p) => cache.hits.inc({ ...cacheL(p), tier: str(p.tier) }),
    'cache:miss': (p) => cache.misses.inc(cacheL(p)),
    'cache:stale': (p) => cache.stale.inc({ ...cacheL(p), reason: str(p.reason) }),
    'cache:loaded': (p) => {
      cache.loads.inc({ ...cacheL(p), negative: String(p.negative === true) });
      cache.loadDuration.observe(cacheL(p), Math.max(0, Number(p.duration) || 0) / 1000);
    },
    'cache:refresh': (p) => cache.refreshes.inc({ ...cacheL(p), reason: str(p.reason) }),
    'cache:deleted': (p) => cache.deleted.inc(cacheL(p), len(p.keys)),
    'cache:tags': (p) => cache.tags.inc({ ...cacheL(p), mode: str(p.mode) }),
    'cache:evicted': (p) => cache.evicted.inc({ cache: str(p.cache), reason: str(p.reason) }),
    'cache:error': (p) => cache.errors.inc({ ...cacheL(p), operation: str(p.operation) }),
    'cache:gap': (p) => cache.gaps.inc(cacheL(p)),
    'cache:flush': (p) => cache.flushes.inc({ ...cacheL(p), reason: str(p.reason) }),
    'cache:bus': (p) => {
      if (p.state === 'connected') cache.busConnected.set({ cache: str(p.cache) }, 1);
      else if (p.state === 'disconnected') cache.busConnected.set({ cache: str(p.cache) }, 0);
    },
  };

  // A throwing subscriber would surface in the publisher's call: errors here are dropped.
  const subscriptions: [string, (message: unknown) => void][] = Object.entries(handlers).map(
    ([event, handle]) => [
      DIAGNOSTICS_PREFIX + event,
      (message: unknown) => {
        try {
          if (typeof message === 'object' && message !== null) handle(message as Payload);
        } catch {
          // dropped on purpose (see above)
        }
      },
    ],
  );
  for (const [name, fn] of subscriptions) subscribe(name, fn);

  let closed = false;
  const close = (): void => {
    if (closed) return;
    closed = true;
    for (const [name, fn] of subscriptions) unsubscribe(name, fn);
  };
  const render = (): string => `${metrics.map((m) => m.render()).join('\n')}\n`;
  return {
    metrics: render,
    contentType: PROMETHEUS_CONTENT_TYPE,
    handler: (_req, res) => {
      const body = render();
      res.writeHead(200, {
        'content-type': PROMETHEUS_CONTENT_TYPE,
        'content-length': Buffer.byteLength(body),
      });
      res.end(body);
    },
    close,
    get closed() {
      return closed;
    },
    [Symbol.dispose]: close,
  };
}

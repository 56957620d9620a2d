import type { Attributes, Counter, Histogram } from '@opentelemetry/api';

/** Metric names for `@switchyard/cache` events (see `OTEL_METRICS`). */
export const CACHE_METRICS = {
  cacheHits: 'switchyard.cache.hits',
  cacheMisses: 'switchyard.cache.misses',
  cacheStale: 'switchyard.cache.stale',
  cacheLoads: 'switchyard.cache.loads',
  cacheLoadDuration: 'switchyard.cache.load_duration',
  cacheErrors: 'switchyard.cache.errors',
  cacheEvictions: 'switchyard.cache.evictions',
  cacheFlushes: 'switchyard.cache.flushes',
} as const;

/** Attribute names for cache metrics (cache and namespace names are bounded by the application). */
export const CACHE_ATTRIBUTES = {
  cache: 'switchyard.cache.name',
  namespace: 'switchyard.cache.namespace',
  tier: 'switchyard.cache.tier',
  reason: 'switchyard.cache.reason',
  operation: 'switchyard.cache.operation',
  negative: 'switchyard.cache.negative',
} as const;

// The cache's payloads as the bridge reads them (core does not depend on @switchyard/cache).
interface CachePayload {
  cache: string;
  namespace?: string;
  tier?: number;
  reason?: string;
  duration?: number;
  negative?: boolean;
  operation?: string;
  entries?: number;
}

type Make = {
  counter: (name: string, description: string, unit?: string) => Counter;
  histogram: (name: string, description: string, unit: string) => Histogram;
};

/**
 * Handlers for the `cache:*` channels. Hits and misses are counted per cache, namespace and tier:
 * subscribing to `cache:hit` makes the cache build one payload per hit (it builds none while nobody
 * listens), so the bridge costs a little on the hit path.
 */
export function cacheHandlers({ counter, histogram }: Make): Record<string, (message: unknown) => void> {
  const m = CACHE_METRICS;
  const a = CACHE_ATTRIBUTES;
  const hits = counter(m.cacheHits, 'Cache hits (attribute tier: 0 = first tier)');
  const misses = counter(m.cacheMisses, 'Cache misses');
  const stale = counter(m.cacheStale, 'Stale values served (attribute reason)');
  const loads = counter(m.cacheLoads, 'Loader calls that completed (attribute negative)');
  const loadDuration = histogram(m.cacheLoadDuration, 'Loader call duration', 's');
  const errors = counter(m.cacheErrors, 'Failures the cache absorbed (attribute operation)');
  const evictions = counter(m.cacheEvictions, 'L1 entries evicted (attribute reason)');
  const flushes = counter(m.cacheFlushes, 'L1 entries dropped for missed invalidations', '{entry}');
  const base = (p: CachePayload): Attributes =>
    p.namespace === undefined ? { [a.cache]: p.cache } : { [a.cache]: p.cache, [a.namespace]: p.namespace };
  return {
    'cache:hit': (p) => {
      const c = p as CachePayload;
      hits.add(1, { ...base(c), [a.tier]: c.tier ?? 0 });
    },
    'cache:miss': (p) => misses.add(1, base(p as CachePayload)),
    'cache:stale': (p) => {
      const c = p as CachePayload;
      stale.add(1, { ...base(c), [a.reason]: c.reason ?? 'unknown' });
    },
    'cache:loaded': (p) => {
      const c = p as CachePayload;
      const attributes = { ...base(c), [a.negative]: c.negative ?? false };
      loads.add(1, attributes);
      if (typeof c.duration === 'number') loadDuration.record(Math.max(0, c.duration) / 1000, attributes);
    },
    'cache:error': (p) => {
      const c = p as CachePayload;
      errors.add(1, { ...base(c), [a.operation]: c.operation ?? 'unknown' });
    },
    'cache:evicted': (p) => {
      const c = p as CachePayload;
      evictions.add(1, { [a.cache]: c.cache, [a.reason]: c.reason ?? 'unknown' });
    },
    'cache:flush': (p) => {
      const c = p as CachePayload;
      flushes.add(c.entries ?? 0, { ...base(c), [a.reason]: c.reason ?? 'unknown' });
    },
  };
}

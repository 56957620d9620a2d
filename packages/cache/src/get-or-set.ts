import { SwitchyardError } from '@switchyard/core';
import { type CacheEngine, FRESH, STALE } from './cache-engine.js';
import type { StoredEntry } from './entry.js';
import type { LoadSettings } from './load-coordinator.js';
import { MISSING } from './missing.js';
import type { Scope } from './scope.js';
import type { Loader } from './types.js';

/** Per-call settings of `getOrSet`, defaults applied. */
export interface GetOrSetCall extends LoadSettings {
  tagsKey: string | undefined;
  softTimeout: number;
  hardTimeout: number;
  earlyRefresh: number;
  signal: AbortSignal | undefined;
}

type StaleReason = 'refresh' | 'error' | 'timeout' | 'backoff' | 'store';

/**
 * The layered read: L1 (fresh → done, XFetch may start an early refresh) → the stores (one read per
 * key at a time) → the loader (one per key; optionally one across processes), with a stale value
 * served while revalidating, after a soft timeout, on a loader error or during its backoff.
 */
/** What `l1Hit` returns when L1 cannot answer (a symbol no loader can return). */
export const NOT_IN_L1: unique symbol = Symbol('not in L1');

/**
 * The synchronous part: prefilter and a fresh L1 hit (XFetch may start an early refresh), so a hit
 * costs no promise of its own. `NOT_IN_L1` otherwise.
 */
export function l1Hit<T>(
  engine: CacheEngine,
  scope: Scope,
  fullKey: string,
  key: string,
  loader: Loader<T>,
  call: GetOrSetCall,
): T | typeof NOT_IN_L1 {
  const c = scope.counters;
  if (engine.prefilter && !engine.prefilter.has(key)) {
    c.rejected++;
    return MISSING as T;
  }
  const e = engine.l1?.get(fullKey);
  if (e === undefined) return NOT_IN_L1;
  const now = engine.clock.now();
  if (engine.classify(e, now, scope.prefix, call.tagsKey) !== FRESH) return NOT_IN_L1;
  c.hits[0]!++;
  if (e.value === MISSING) c.negativeHits++;
  if (engine.events.wants('cache:hit')) {
    engine.events.emit('cache:hit', { cache: engine.name, namespace: scope.path, key, tier: 0 });
  }
  if (call.earlyRefresh > 0 && e.delta > 0)
    maybeRefreshEarly(engine, scope, fullKey, key, loader, call, e, now);
  return e.value as T;
}

/** After `l1Hit` said `NOT_IN_L1`: the stores, then the loader. */
export async function getOrSetSlow<T>(
  engine: CacheEngine,
  scope: Scope,
  fullKey: string,
  key: string,
  loader: Loader<T>,
  call: GetOrSetCall,
): Promise<T> {
  const c = scope.counters;
  let stale: StoredEntry | undefined;
  const e = engine.l1?.peek(fullKey);
  if (e !== undefined && engine.classify(e, engine.clock.now(), scope.prefix, call.tagsKey) === STALE)
    stale = e;
  if (engine.tiers.length > 0) {
    const r = await engine.readStores(scope, fullKey);
    const fresh = r.fresh;
    if (fresh && (call.tagsKey === undefined || fresh.tagsKey === call.tagsKey)) {
      c.hits[engine.l1Offset + r.tier]!++;
      if (fresh.value === MISSING) c.negativeHits++;
      if (engine.events.wants('cache:hit')) {
        engine.events.emit('cache:hit', {
          cache: engine.name,
          namespace: scope.path,
          key,
          tier: engine.l1Offset + r.tier,
        });
      }
      return fresh.value as T;
    }
    if (r.stale && (call.tagsKey === undefined || r.stale.tagsKey === call.tagsKey))
      stale = better(stale, r.stale);
    if (r.error !== undefined && !engine.fallbackToLoader) {
      if (stale) return serveStale(engine, scope, key, stale, 'store');
      throw r.error;
    }
  }
  c.misses++;
  if (engine.events.wants('cache:miss'))
    engine.events.emit('cache:miss', { cache: engine.name, namespace: scope.path, key });
  const usable = stale !== undefined && stale.suspect === undefined;
  if (usable && engine.loads.backingOff(fullKey)) return serveStale(engine, scope, key, stale!, 'backoff');
  const load = engine.loads.run(scope, fullKey, key, loader, call, stale);
  if (usable && call.softTimeout === 0) {
    load.catch((error) => engine.reportError(scope.path, 'refresh', error, key));
    if (engine.events.wants('cache:refresh')) {
      engine.events.emit('cache:refresh', {
        cache: engine.name,
        namespace: scope.path,
        key,
        reason: 'stale',
      });
    }
    return serveStale(engine, scope, key, stale!, 'refresh');
  }
  const bound = usable ? Math.min(call.softTimeout, call.hardTimeout) : call.hardTimeout;
  const outcome = await engine.settle(load, bound, call.signal);
  if (outcome.ok) return outcome.value.value as T;
  if (outcome.timeout) {
    load.catch((error) => engine.reportError(scope.path, 'load', error, key));
    if (stale) return serveStale(engine, scope, key, stale, 'timeout');
    throw new SwitchyardError(
      'TIMEOUT',
      `[cache] loader for "${key}" did not finish within ${call.hardTimeout} ms`,
      {
        details: { key, namespace: scope.path },
      },
    );
  }
  if (stale) {
    engine.reportError(scope.path, 'load', outcome.error, key);
    return serveStale(engine, scope, key, stale, 'error');
  }
  throw outcome.error;
}

function serveStale<T>(
  engine: CacheEngine,
  scope: Scope,
  key: string,
  e: StoredEntry,
  reason: StaleReason,
): T {
  scope.counters.staleServed++;
  if (engine.events.wants('cache:stale')) {
    engine.events.emit('cache:stale', { cache: engine.name, namespace: scope.path, key, reason });
  }
  return e.value as T;
}

/** Of two stale entries, the one written last (and not a suspect one if possible). */
function better(a: StoredEntry | undefined, b: StoredEntry): StoredEntry {
  if (!a) return b;
  if ((a.suspect === undefined) !== (b.suspect === undefined)) return a.suspect === undefined ? a : b;
  return b.createdAt > a.createdAt ? b : a;
}

/**
 * XFetch (Vattani, Chierichetti, Lowenstein 2015): refresh early with probability growing as expiry
 * nears, scaled by δ (the time the loader took, stored in the entry) and β. A hot key is reloaded
 * by one request shortly before it expires instead of by a stampede when it does.
 */
function maybeRefreshEarly<T>(
  engine: CacheEngine,
  scope: Scope,
  fullKey: string,
  key: string,
  loader: Loader<T>,
  call: GetOrSetCall,
  e: StoredEntry,
  now: number,
): void {
  const gap = e.freshUntil - now;
  const scale = e.delta * call.earlyRefresh;
  // -ln(U) > 12 has probability 6e-6: far from expiry, skip the logarithm.
  if (gap > scale * 12 || engine.loads.has(fullKey)) return;
  if (-scale * Math.log(Math.random()) < gap) return;
  scope.counters.earlyRefreshes++;
  if (engine.events.wants('cache:refresh')) {
    engine.events.emit('cache:refresh', { cache: engine.name, namespace: scope.path, key, reason: 'early' });
  }
  engine.loads
    .run(scope, fullKey, key, loader, call, e)
    .catch((error) => engine.reportError(scope.path, 'early refresh', error, key));
}

import { backendUnavailable, type CacheStore, createMemoryCacheStore } from '@switchyard/core';

/**
 * The real memory store with a switch that makes every call fail as an outage would: a fault
 * injector for the cache core's own tests (the real outages are in the Redis/etcd fault tests).
 */
export function flakyStore(): CacheStore & { down: boolean; calls: number } {
  const inner = createMemoryCacheStore();
  const state = { down: false, calls: 0 };
  const wrap =
    <A extends unknown[], R>(fn: (...a: A) => Promise<R>) =>
    async (...a: A): Promise<R> => {
      state.calls++;
      if (state.down) throw backendUnavailable('test', 'flaky store', new Error('down'));
      return fn(...a);
    };
  const store = {
    name: 'flaky',
    capabilities: { ttlGranularity: 'milliseconds' as const, batch: true, shared: true },
    get: wrap(inner.get.bind(inner)),
    getMany: wrap(inner.getMany.bind(inner)),
    set: wrap(inner.set.bind(inner)),
    setMany: wrap(inner.setMany.bind(inner)),
    delete: wrap(inner.delete.bind(inner)),
    deleteMany: wrap(inner.deleteMany.bind(inner)),
    has: wrap(inner.has.bind(inner)),
    clear: wrap(inner.clear.bind(inner)),
    close: () => inner.close(),
    [Symbol.asyncDispose]: () => inner.close(),
  };
  return Object.defineProperties(store, {
    down: { get: () => state.down, set: (v: boolean) => (state.down = v), enumerable: true },
    calls: { get: () => state.calls, enumerable: true },
  }) as unknown as CacheStore & { down: boolean; calls: number };
}

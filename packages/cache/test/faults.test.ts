import { isSwitchyardError } from '@switchyard/core';
import { type RedisServer, startRedis } from '@switchyard/testkit/servers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCache } from '../src/index.js';
import { createRedisCacheStore } from '../src/redis/index.js';

let redis: RedisServer;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis?.stop();
});

describe('grace with the store killed and the loader failing', () => {
  it('serves stale values fast, never crashes, then recovers', async () => {
    const store = createRedisCacheStore({ url: redis.url, requestTimeout: 1000 });
    const cache = createCache({
      l2: store,
      ttl: 200,
      grace: 60_000,
      ttlJitter: 0,
      breakerDuration: 300,
      loaderBackoff: { base: 100, max: 200 },
    });
    const errors: unknown[] = [];
    cache.on('cache:error', (e) => errors.push(e.error));
    const keys = ['a', 'b', 'c'];
    for (const k of keys) expect(await cache.getOrSet(k, () => `${k}1`)).toBe(`${k}1`);
    await redis.process.kill();
    await new Promise((r) => setTimeout(r, 250)); // entries are stale now
    let sourceUp = false;
    let loads = 0;
    const loader = (k: string) => async () => {
      loads++;
      if (!sourceUp) throw new Error('database down too');
      return `${k}2`;
    };
    const latencies: number[] = [];
    const deadline = Date.now() + 1500;
    while (Date.now() < deadline) {
      for (const k of keys) {
        const t0 = performance.now();
        expect(await cache.getOrSet(k, loader(k))).toBe(`${k}1`);
        latencies.push(performance.now() - t0);
      }
      await new Promise((r) => setTimeout(r, 10));
    }
    latencies.sort((x, y) => x - y);
    expect(latencies[Math.floor(latencies.length / 2)]!).toBeLessThan(20); // L1 answers, no deadline per call
    expect(loads).toBeGreaterThan(0);
    expect(loads).toBeLessThan(latencies.length); // backoff: not one load per call
    expect(cache.stats().namespaces['']!.staleServed).toBeGreaterThanOrEqual(latencies.length);
    expect(errors.some((e) => isSwitchyardError(e, 'BACKEND_UNAVAILABLE') || e instanceof Error)).toBe(true);
    // Recovery: the store comes back (empty) and so does the source.
    await redis.process.start();
    sourceUp = true;
    const t0 = Date.now();
    for (;;) {
      const values = await Promise.all(keys.map((k) => cache.getOrSet(k, loader(k))));
      if (values.every((v, i) => v === `${keys[i]}2`)) break;
      if (Date.now() - t0 > 10_000) throw new Error(`did not recover: ${values.join(',')}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    // The restarted store is refilled: a write-back that met the open breaker is redone by the next
    // refresh (ttl 200 ms), so keep the key in use while polling.
    const probeStore = createRedisCacheStore({ url: redis.url });
    const probe = createCache({ l1: false, l2: probeStore });
    await expect
      .poll(
        async () => {
          await cache.getOrSet('a', loader('a'));
          return probe.get('a');
        },
        { timeout: 5000 },
      )
      .toBe('a2');
    await probe.close();
    await probeStore.close();
    await cache.close();
    await store.close();
  });
});

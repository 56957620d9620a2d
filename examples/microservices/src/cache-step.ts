import { createCache, MISSING } from '@switchyard/cache';
import type { CacheStore } from '@switchyard/core';

/**
 * Demo step: the gateway caches product lookups with @switchyard/cache: an in-process W-TinyLFU L1
 * over the cluster's memory store as L2 (Redis instead when REDIS_URL is set). 100 concurrent
 * lookups of a cold product load it once; an unknown product is cached as MISSING.
 */
export async function runCacheStep(memoryL2: CacheStore, log: (line: string) => void): Promise<boolean> {
  const url = process.env.REDIS_URL;
  const l2 = url ? (await import('@switchyard/cache/redis')).createRedisCacheStore({ url }) : memoryL2;
  const cache = createCache({ name: 'gateway', l2, ttl: 1000, grace: 5000, negativeTtl: 500 });
  const products: Record<string, { name: string }> = { '42': { name: 'Widget' } };
  let lookups = 0;
  const product = (id: string) =>
    cache.getOrSet(`product:${id}`, async () => {
      lookups++;
      await new Promise((r) => setTimeout(r, 20)); // the "database"
      return products[id] ?? MISSING;
    });
  const first = await Promise.all(Array.from({ length: 100 }, () => product('42')));
  const again = await product('42');
  const unknown = [await product('7'), await product('7')];
  const stats = cache.stats().namespaces['']!;
  log(
    `  ${url ? 'L1 + Redis' : 'L1 + memory L2'}: 100 concurrent cold lookups → ${lookups - 1} load; ` +
      `then L1 hit: ${again !== MISSING && again.name === 'Widget'}; unknown product cached as MISSING: ${unknown[1] === MISSING}`,
  );
  const hit = first.every((p) => p === first[0]) && stats.hits[0]! > 0 && lookups === 2;
  await cache.close();
  if (url) await l2.close();
  return hit;
}

/**
 * @switchyard/cache benchmark: our cache vs bentocache 1.6, cache-manager 7 (Keyv stores:
 * CacheableMemory L1 + @keyv/redis L2) and raw lru-cache 11, in one process, one run, against one
 * throwaway redis-server on loopback. Each library is used its best way (getOrSet / wrap / fetch),
 * with the same serializer setting: values held by reference in L1 (bentocache `serialize: false`,
 * CacheableMemory `useClone: false`), JSON in Redis. Rounds are interleaved peer by peer and the
 * median of the rounds is reported. `pnpm --filter @switchyard/cache bench`
 */

import KeyvRedis from '@keyv/redis';
import { createRedisLock } from '@switchyard/lock-redis';
import { fmt, markdownTable, median, ratio } from '@switchyard/testkit/bench';
import { startRedis } from '@switchyard/testkit/servers';
import { BentoCache, bentostore } from 'bentocache';
import { memoryDriver } from 'bentocache/drivers/memory';
import { redisDriver } from 'bentocache/drivers/redis';
import { createCache as createCacheManager } from 'cache-manager';
import { createKeyv as createCacheableKeyv } from 'cacheable';
import { Redis } from 'ioredis';
import { Keyv } from 'keyv';
import { LRUCache } from 'lru-cache';
import { createCache } from '../src/index.js';
import { createRedisCacheStore } from '../src/redis/index.js';
import { hitRatios } from './hit-ratio.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const MEM_OPS = Number(process.env.BENCH_MEM_OPS ?? 200_000);
const NET_OPS = Number(process.env.BENCH_NET_OPS ?? 3_000);
const KEYS = 1000;
const value = { id: 42, name: 'Widget', tags: ['a', 'b'], price: 9.99 };
const keys = Array.from({ length: KEYS }, (_, i) => `item:${i}`);

const server = await startRedis();
const clients: Redis[] = [];
const newRedis = () => {
  const c = new Redis(server.url);
  clients.push(c);
  return c;
};

// --- peers -------------------------------------------------------------------------------------
const ourL1 = createCache({ name: 'l1', ttl: 600_000 });
const ourTiered = createCache({
  name: 'tiered',
  ttl: 600_000,
  l2: createRedisCacheStore({ client: newRedis(), prefix: 'ours:' }),
});
const ourL2 = createCache({
  name: 'l2',
  ttl: 600_000,
  l1: false,
  l2: createRedisCacheStore({ client: newRedis(), prefix: 'ours2:' }),
});

const bentoMem = new BentoCache({
  default: 'm',
  stores: { m: bentostore().useL1Layer(memoryDriver({ maxItems: 10_000, serialize: false })) },
});
const bentoTiered = new BentoCache({
  default: 't',
  stores: {
    t: bentostore()
      .useL1Layer(memoryDriver({ maxItems: 10_000, serialize: false }))
      .useL2Layer(redisDriver({ connection: newRedis(), prefix: 'bento' })),
  },
});
const bentoL2 = new BentoCache({
  default: 'r',
  stores: { r: bentostore().useL2Layer(redisDriver({ connection: newRedis(), prefix: 'bento2' })) },
});

const cmL1Store = () => createCacheableKeyv({ useClone: false, lruSize: 10_000 });
const cmRedis = (ns: string) => new Keyv({ store: new KeyvRedis(server.url), namespace: ns });
const cmMem = createCacheManager({ stores: [cmL1Store()], ttl: 600_000 });
const cmTiered = createCacheManager({ stores: [cmL1Store(), cmRedis('cm')], ttl: 600_000 });
const cmL2 = createCacheManager({ stores: [cmRedis('cm2')], ttl: 600_000 });

const lru = new LRUCache<string, typeof value>({ max: 10_000 });
const raw = newRedis();

// --- helpers -----------------------------------------------------------------------------------
async function timeAsync(n: number, op: (i: number) => Promise<unknown>): Promise<number> {
  for (let i = 0; i < Math.min(200, n); i++) await op(i);
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) await op(i);
  return Number(process.hrtime.bigint() - t0) / n;
}

function timeSync(n: number, op: (i: number) => unknown): number {
  for (let i = 0; i < Math.min(1000, n); i++) op(i);
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) op(i);
  return Number(process.hrtime.bigint() - t0) / n;
}

type Case = { name: string; run: () => Promise<number> | number };

/** Median ns/op of each case over interleaved rounds. */
async function compare(cases: Case[]): Promise<Map<string, number>> {
  const samples = new Map<string, number[]>(cases.map((c) => [c.name, []]));
  for (let r = 0; r < ROUNDS; r++) for (const c of cases) samples.get(c.name)!.push(await c.run());
  return new Map([...samples].map(([k, v]) => [k, median(v)]));
}

const k = (i: number) => keys[i % KEYS]!;
const opsPerSec = (ns: number) => fmt(1e9 / ns / 1000, 0);

// --- fill --------------------------------------------------------------------------------------
for (const key of keys) {
  lru.set(key, value);
  await ourL1.set(key, value);
  await ourTiered.set(key, value);
  await ourL2.set(key, value);
  await bentoMem.set({ key, value });
  await bentoTiered.set({ key, value });
  await bentoL2.set({ key, value });
  await cmMem.set(key, value);
  await cmTiered.set(key, value);
  await cmL2.set(key, value);
}
const factory = () => value;

const rows: string[][] = [];
const record = (task: string, results: Map<string, number>, ours: string, peers: string[]) => {
  const o = results.get(ours)!;
  rows.push([
    task,
    `${opsPerSec(o)} k`,
    ...peers.map((p) => {
      const v = results.get(p);
      return v === undefined ? '—' : `${opsPerSec(v)} k (ours ${ratio(v, o)})`;
    }),
  ]);
};

// 1. L1 get hit
{
  const r = await compare([
    { name: 'ours', run: () => timeAsync(MEM_OPS, (i) => ourL1.get(k(i))) },
    { name: 'bento', run: () => timeAsync(MEM_OPS, (i) => bentoMem.get({ key: k(i) })) },
    { name: 'cm', run: () => timeAsync(MEM_OPS, (i) => cmMem.get(k(i))) },
    { name: 'lru', run: () => timeSync(MEM_OPS * 5, (i) => lru.get(k(i))) },
    { name: 'lru-await', run: () => timeAsync(MEM_OPS, async (i) => lru.get(k(i))) },
  ]);
  record('L1 get hit', r, 'ours', ['bento', 'cm', 'lru']);
  rows.push([
    'L1 get hit, lru-cache awaited (same async shape as ours)',
    `${opsPerSec(r.get('ours')!)} k`,
    '—',
    '—',
    `${opsPerSec(r.get('lru-await')!)} k (ours ${ratio(r.get('lru-await')!, r.get('ours')!)})`,
  ]);
}
// 2. Tiered get hit (answered by L1)
{
  const r = await compare([
    { name: 'ours', run: () => timeAsync(MEM_OPS, (i) => ourTiered.get(k(i))) },
    { name: 'bento', run: () => timeAsync(MEM_OPS, (i) => bentoTiered.get({ key: k(i) })) },
    { name: 'cm', run: () => timeAsync(MEM_OPS / 10, (i) => cmTiered.get(k(i))) },
  ]);
  record('tiered get hit (L1 + Redis)', r, 'ours', ['bento', 'cm']);
}
// 3. getOrSet hit (tiered)
{
  const r = await compare([
    { name: 'ours', run: () => timeAsync(MEM_OPS, (i) => ourTiered.getOrSet(k(i), factory)) },
    { name: 'bento', run: () => timeAsync(MEM_OPS, (i) => bentoTiered.getOrSet({ key: k(i), factory })) },
    { name: 'cm', run: () => timeAsync(MEM_OPS / 10, (i) => cmTiered.wrap(k(i), factory)) },
  ]);
  record('getOrSet hit (L1 + Redis)', r, 'ours', ['bento', 'cm']);
}
// 4. L2-only getOrSet hit (a Redis round trip each)
{
  const r = await compare([
    { name: 'ours', run: () => timeAsync(NET_OPS, (i) => ourL2.getOrSet(k(i), factory)) },
    { name: 'bento', run: () => timeAsync(NET_OPS, (i) => bentoL2.getOrSet({ key: k(i), factory })) },
    { name: 'cm', run: () => timeAsync(NET_OPS, (i) => cmL2.wrap(k(i), factory)) },
    { name: 'GET', run: () => timeAsync(NET_OPS, (i) => raw.get(`ours2:${k(i)}`)) },
  ]);
  record('L2-only getOrSet hit (Redis)', r, 'ours', ['bento', 'cm']);
  rows.push(['raw ioredis GET (the floor)', `${opsPerSec(r.get('GET')!)} k`, '—', '—', '—']);
}
// 5. Set (tiered, write-through)
{
  const r = await compare([
    { name: 'ours', run: () => timeAsync(NET_OPS, (i) => ourTiered.set(k(i), value)) },
    { name: 'bento', run: () => timeAsync(NET_OPS, (i) => bentoTiered.set({ key: k(i), value })) },
    { name: 'cm', run: () => timeAsync(NET_OPS, (i) => cmTiered.set(k(i), value)) },
  ]);
  record('tiered set (L1 + Redis)', r, 'ours', ['bento', 'cm']);
}

console.log('\n## Throughput (ops/s, sequential; "ours N×" = our speed / theirs)\n');
console.log(
  markdownTable(
    ['task', '@switchyard/cache', 'bentocache', 'cache-manager', 'lru-cache'],
    rows.map((r) => (r.length === 4 ? [...r, '—'] : r)),
  ),
);

// 6. Stampede: 1 000 concurrent cold requests, three instances sharing Redis (three "processes").
async function stampede(
  name: string,
  mk: () => {
    get: (key: string, load: () => Promise<unknown>) => Promise<unknown>;
    close?: () => Promise<unknown>;
  },
) {
  const instances = [mk(), mk(), mk()];
  let loads = 0;
  const key = `cold:${name}:${Date.now()}`;
  const load = async () => {
    loads++;
    await new Promise((r) => setTimeout(r, 100));
    return value;
  };
  await Promise.all(instances.flatMap((c) => Array.from({ length: 1000 }, () => c.get(key, load))));
  await Promise.all(instances.map((c) => c.close?.()));
  return loads;
}
const lockClient = newRedis();
const stampedeRows: string[][] = [];
stampedeRows.push([
  '@switchyard/cache',
  String(
    await stampede('ours', () => {
      const c = createCache({ l2: createRedisCacheStore({ client: lockClient, prefix: 'st:' }) });
      return { get: (key, l) => c.getOrSet(key, l), close: () => c.close() };
    }),
  ),
]);
stampedeRows.push([
  '@switchyard/cache + lock-redis stampede lock',
  String(
    await stampede('ours-lock', () => {
      const lock = createRedisLock({ client: lockClient, prefix: 'stl:' });
      const c = createCache({
        l2: createRedisCacheStore({ client: lockClient, prefix: 'st:' }),
        lock: { lock },
      });
      return {
        get: (key, l) => c.getOrSet(key, l),
        close: async () => {
          await c.close();
          await lock.close();
        },
      };
    }),
  ),
]);
stampedeRows.push([
  'bentocache (tiered)',
  String(
    await stampede('bento', () => {
      const b = new BentoCache({
        default: 't',
        stores: {
          t: bentostore()
            .useL1Layer(memoryDriver({ serialize: false }))
            .useL2Layer(redisDriver({ connection: lockClient, prefix: 'stb' })),
        },
      });
      return { get: (key, l) => b.getOrSet({ key, factory: l }), close: () => b.disconnect() };
    }),
  ),
]);
stampedeRows.push([
  'cache-manager (wrap)',
  String(
    await stampede('cm', () => {
      const c = createCacheManager({ stores: [cmL1Store(), cmRedis('stc')] });
      return { get: (key, l) => c.wrap(key, l), close: () => c.disconnect() };
    }),
  ),
]);
stampedeRows.push([
  'lru-cache (fetch, per process; no shared tier)',
  String(
    await stampede('lru', () => {
      let load: () => Promise<unknown> = async () => undefined;
      const l = new LRUCache<string, object>({ max: 100, fetchMethod: async () => (await load()) as object });
      return {
        get: (key, f) => {
          load = f;
          return l.fetch(key);
        },
      };
    }),
  ),
]);
console.log(
  '\n## Stampede: loader calls for 1 000 concurrent cold requests on each of 3 instances sharing Redis\n',
);
console.log(markdownTable(['library', 'loader calls'], stampedeRows));

// 7. Hit ratio
console.log('\n## Hit ratio (W-TinyLFU L1 through the full cache vs lru-cache; seeded traces)\n');
console.log(
  markdownTable(['trace', 'cache size', 'lru-cache', '@switchyard/cache', 'difference'], await hitRatios()),
);

await Promise.all([ourL1.close(), ourTiered.close(), ourL2.close()]);
await Promise.all([bentoMem.disconnect(), bentoTiered.disconnect(), bentoL2.disconnect()]);
await Promise.all([cmMem.disconnect(), cmTiered.disconnect(), cmL2.disconnect()]);
for (const c of clients) c.disconnect();
await server.stop();
console.log(
  `\nmachine: ${process.version}, ${(await import('node:os')).cpus().length} cores (${(await import('node:os')).cpus()[0]?.model}), rounds ${ROUNDS}`,
);
process.exit(0);

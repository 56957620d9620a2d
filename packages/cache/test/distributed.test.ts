import { type RedisServer, startRedis } from '@switchyard/testkit/servers';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCache } from '../src/index.js';
import { createRedisBus, createRedisCacheStore } from '../src/redis/index.js';
import { startWorker, type Worker } from './helpers/worker.js';

let redis: RedisServer;
let admin: Redis;
let workers: Worker[] = [];

beforeAll(async () => {
  redis = await startRedis();
  admin = new Redis(redis.url, { maxRetriesPerRequest: 1 });
  admin.on('error', () => {});
  workers = await Promise.all([0, 1, 2].map((i) => startWorker(redis.url, 'dist', 200 + i * 0)));
});

afterAll(async () => {
  await Promise.all(workers.map((w) => w.exit()));
  admin?.disconnect();
  await redis?.stop();
});

async function until<T>(
  probe: () => Promise<T>,
  ok: (v: T) => boolean,
  ms: number,
): Promise<{ value: T; after: number }> {
  const t0 = performance.now();
  for (;;) {
    const value = await probe();
    if (ok(value)) return { value, after: performance.now() - t0 };
    if (performance.now() - t0 > ms)
      throw new Error(`not converged within ${ms} ms (last: ${JSON.stringify(value)})`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('stampede across 3 processes (1 000 concurrent getOrSet each, cold key)', () => {
  it('without the lock: one load per process', async () => {
    const results = await Promise.all(
      workers.map((w) =>
        w.call<{ loads: number; distinct: string[] }>({
          cmd: 'stampede',
          key: 'cold-a',
          n: 1000,
          locked: false,
          loadMs: 400,
        }),
      ),
    );
    expect(results.map((r) => r.loads)).toEqual([1, 1, 1]);
    expect(results.every((r) => r.distinct.length === 1)).toBe(true);
    expect(await admin.get('loads:cold-a')).toBe('3');
  });

  it('with the lock-redis stampede lock: one load in total', async () => {
    const results = await Promise.all(
      workers.map((w) =>
        w.call<{ loads: number; distinct: string[] }>({
          cmd: 'stampede',
          key: 'cold-b',
          n: 1000,
          locked: true,
          loadMs: 400,
        }),
      ),
    );
    expect(results.reduce((a, r) => a + r.loads, 0)).toBe(1);
    expect(await admin.get('loads:cold-b')).toBe('1');
    expect(new Set(results.flatMap((r) => r.distinct))).toEqual(new Set(['value-of-cold-b']));
  });
});

describe('coherent L1 across processes (Redis pub/sub bus, heartbeat 200 ms: bound 600 ms)', () => {
  const BOUND = 600 + 1000; // the bound plus a generous allowance for this loaded machine

  async function local() {
    const client = new Redis(redis.url, { maxRetriesPerRequest: 1 });
    client.on('error', () => {});
    const cache = createCache({
      name: 'dist',
      l2: createRedisCacheStore({ client }),
      bus: createRedisBus({ client }),
      heartbeatInterval: 200,
      ttl: 600_000,
    });
    await until(
      async () => cache.stats().bus!.connected,
      (c) => c,
      5000,
    );
    return { cache, client };
  }

  it('a write in one process is seen by the other process L1 within the bound', async () => {
    const { cache, client } = await local();
    const w = workers[0]!;
    const lags: number[] = [];
    for (let i = 0; i < 10; i++) {
      await cache.set(`k${i}`, 'v1');
      expect(await w.call({ cmd: 'get', key: `k${i}` })).toBe('v1'); // now in the worker's L1
      await cache.set(`k${i}`, 'v2');
      const r = await until(
        () => w.call({ cmd: 'get', key: `k${i}` }),
        (v) => v === 'v2',
        BOUND,
      );
      lags.push(r.after);
    }
    lags.sort((a, b) => a - b);
    expect(lags[5]!).toBeLessThan(300); // median: a pub/sub hop, not a heartbeat
    await cache.close();
    client.disconnect();
  });

  it('a subscriber connection dropped mid-stream: after it reconnects, no stale read survives the bound', async () => {
    const { cache, client } = await local();
    const w = workers[1]!;
    const keys = Array.from({ length: 50 }, (_, i) => `s${i}`);
    for (const k of keys) await cache.set(k, 0);
    expect(await w.call({ cmd: 'getMany', keys })).toEqual(keys.map(() => 0));
    for (let round = 1; round <= 5; round++) for (const k of keys) await cache.set(k, round);
    await until(
      () => w.call<number[]>({ cmd: 'getMany', keys }),
      (v) => v.every((x) => x === 5),
      BOUND,
    );
    // Drop every subscriber; the worker's comes back only after 1 s. These invalidations are lost.
    await admin.client('KILL', 'TYPE', 'pubsub');
    await Promise.all(keys.map((k) => cache.set(k, 6)));
    const r = await until(
      () => w.call<number[]>({ cmd: 'getMany', keys }),
      (vals) => vals.every((v) => v === 6),
      1000 + BOUND,
    );
    expect(r.value).toEqual(keys.map(() => 6));
    const { flushes } = await w.call<{ flushes: string[] }>({ cmd: 'stats' });
    // Down longer than two heartbeats: demoted while down ('silent'), and again on reconnect.
    expect(flushes).toContain('silent');
    await until(
      async () => (await w.call<{ flushes: string[] }>({ cmd: 'stats' })).flushes,
      (f) => f.includes('reconnect'),
      5000,
    );
    await cache.close();
    client.disconnect();
  });

  it('Redis killed and restarted (data lost): the other L1 does not keep the old value past the bound', async () => {
    const { cache, client } = await local();
    const w = workers[2]!;
    await cache.set('r', 'before');
    expect(await w.call({ cmd: 'get', key: 'r' })).toBe('before');
    await redis.process.kill();
    await new Promise((r) => setTimeout(r, 200));
    await redis.process.start();
    // This write's invalidation is published before the worker's bus is back (1 s retry): lost.
    await until(
      () =>
        cache.set('r', 'after').then(
          () => true,
          () => false,
        ),
      (v) => v,
      10_000,
    );
    const r = await until(
      () => w.call({ cmd: 'get', key: 'r' }),
      (v) => v === 'after',
      1000 + BOUND,
    );
    expect(r.value).toBe('after');
    await cache.close();
    client.disconnect();
  });
});

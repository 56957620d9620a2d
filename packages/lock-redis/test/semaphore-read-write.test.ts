import type { DistributedLock } from '@switchyard/core';
import { isSwitchyardError } from '@switchyard/core';
import { type RedisServer, startRedis } from '@switchyard/testkit/servers';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedisReadWriteLock, createRedisSemaphore } from '../src/index.js';

/**
 * Churn: `workers` loops on `churn` acquire and release `key` back to back while `first` (another
 * client) starts waiting; counts the acquisitions that started after `first` did and were granted
 * before it (overtakes). FIFO: none.
 */
async function overtakes(churn: DistributedLock, first: DistributedLock, key: string, workers: number) {
  let stop = false;
  const grants: { start: number; at: number }[] = [];
  const loop = async () => {
    while (!stop) {
      const start = performance.now();
      const lease = await churn.acquire(key, { ttl: 5000, wait: 10_000 });
      grants.push({ start, at: performance.now() });
      await new Promise((r) => setImmediate(r));
      await lease.release();
    }
  };
  const running = Array.from({ length: workers }, loop);
  await new Promise((r) => setTimeout(r, 150));
  const t0 = performance.now();
  const lease = await first.acquire(key, { ttl: 5000, wait: 5000 });
  const t1 = performance.now();
  stop = true;
  await lease.release();
  await Promise.all(running);
  return grants.filter((g) => g.start > t0 && g.at < t1).length;
}

let server: RedisServer;
let client: Redis;
const closers: (() => Promise<void>)[] = [];

beforeAll(async () => {
  server = await startRedis();
  client = new Redis(server.url);
});

afterAll(async () => {
  await Promise.all(closers.map((c) => c()));
  client.disconnect();
  await server.stop();
});

const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));

function semaphore(permits: number, prefix: string) {
  const s = createRedisSemaphore({ client, permits, prefix });
  closers.push(() => s.close());
  return s;
}

describe('semaphore', () => {
  it('admits at most N holders; a release admits the next waiter at once', async () => {
    const s = semaphore(2, 's1:');
    const a = await s.acquire('k');
    const b = await s.acquire('k');
    expect(b.token).toBeGreaterThan(a.token);
    expect(await s.tryAcquire('k')).toBeUndefined();
    expect((await s.holders('k')).map((h) => h.owner).sort()).toEqual([a.owner, b.owner].sort());
    const t0 = performance.now();
    const c = s.acquire('k', { wait: 5000 });
    await delay(30);
    await a.release();
    const cl = await c;
    expect(performance.now() - t0).toBeLessThan(1000);
    expect(cl.token).toBeGreaterThan(b.token);
    await b.release();
    await cl.release();
    expect(await s.holders('k')).toEqual([]);
  });

  it('a permit expires with its holder ttl', async () => {
    const s = semaphore(1, 's2:');
    const a = await s.acquire('e', { ttl: 150, autoRenew: false });
    const lost = new Promise((r) => a.on('lease:lost', r));
    const b = await s.acquire('e', { wait: 2000 });
    await lost;
    expect(b.token).toBeGreaterThan(a.token);
    expect(await a.release()).toBe(false);
    await b.release();
  });

  it('waiters are FIFO: the first waiter is never overtaken by later ones (#19.3)', async () => {
    const churn = semaphore(2, 'fifo:');
    const first = semaphore(2, 'fifo:');
    expect(await overtakes(churn, first, 'k', 6)).toBe(0);
  });

  it('permits < 1 is INVALID_ARGUMENT naming permits', () => {
    for (const permits of [0, -1, 1.5, Number.NaN]) {
      try {
        createRedisSemaphore({ client, permits });
        expect.unreachable();
      } catch (error) {
        expect(isSwitchyardError(error, 'INVALID_ARGUMENT')).toBe(true);
        expect((error as { field: string }).field).toBe('permits');
      }
    }
  });
});

describe('read-write lock', () => {
  it('many readers, one writer; a waiting writer blocks new readers', async () => {
    const rw = createRedisReadWriteLock({ client, prefix: 'rw1:' });
    closers.push(() => rw.close());
    const r1 = await rw.read.acquire('doc');
    const r2 = await rw.read.acquire('doc');
    expect(await rw.write.tryAcquire('doc')).toBeUndefined();
    const writer = rw.write.acquire('doc', { wait: 5000 });
    await delay(50);
    // Writer is waiting: new readers must not get in (no writer starvation).
    expect(await rw.read.tryAcquire('doc')).toBeUndefined();
    await r1.release();
    await r2.release();
    const w = await writer;
    expect(w.token).toBeGreaterThan(r2.token);
    expect(await rw.read.tryAcquire('doc')).toBeUndefined();
    const reader = rw.read.acquire('doc', { wait: 5000 });
    await delay(30);
    await w.release();
    const r3 = await reader;
    expect(r3.token).toBeGreaterThan(w.token);
    await r3.release();
  });

  it('writers are FIFO: the first waiting writer is never overtaken by later ones (#19.3)', async () => {
    const churn = createRedisReadWriteLock({ client, prefix: 'rwfifo:' });
    const first = createRedisReadWriteLock({ client, prefix: 'rwfifo:' });
    closers.push(
      () => churn.close(),
      () => first.close(),
    );
    expect(await overtakes(churn.write, first.write, 'doc', 6)).toBe(0);
  });

  it('a writer that gives up withdraws its intent', async () => {
    const rw = createRedisReadWriteLock({ client, prefix: 'rw2:' });
    closers.push(() => rw.close());
    const r1 = await rw.read.acquire('doc');
    await expect(rw.write.acquire('doc', { wait: 100 })).rejects.toMatchObject({ code: 'LOCK_TIMEOUT' });
    await delay(50);
    const r2 = await rw.read.acquire('doc', { wait: 0 });
    await r1.release();
    await r2.release();
  });
});

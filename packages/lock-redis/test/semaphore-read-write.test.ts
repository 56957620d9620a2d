import type { DistributedLock } from '@switchyard/core';
import { isSwitchyardError } from '@switchyard/core';
import { type RedisServer, startRedis } from '@switchyard/testkit/servers';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedisReadWriteLock, createRedisSemaphore } from '../src/index.js';

/**
 * `workers` loops on each lock object acquire `key` (wait ≤ 1.5 s), hold it 5 ms and release it,
 * for `ms`. Returns the acquisitions that timed out and the inversions: pairs where an acquire
 * that started at least 5 ms after another was granted first (a smaller fencing token). FIFO: none.
 */
async function inversions(locks: DistributedLock[], key: string, workers: number, ms: number) {
  const grants: { start: number; token: bigint }[] = [];
  const end = performance.now() + ms;
  let timeouts = 0;
  const loop = async (lock: DistributedLock) => {
    while (performance.now() < end) {
      const start = performance.now();
      const lease = await lock.acquire(key, { ttl: 5000, wait: 1500 }).catch(() => undefined);
      if (!lease) {
        timeouts++;
        continue;
      }
      grants.push({ start, token: lease.token });
      await new Promise((r) => setTimeout(r, 5));
      await lease.release();
    }
  };
  await Promise.all(locks.flatMap((lock) => Array.from({ length: workers }, () => loop(lock))));
  grants.sort((a, b) => a.start - b.start);
  let inverted = 0;
  for (let i = 0; i < grants.length; i++) {
    for (let j = i + 1; j < grants.length; j++) {
      if (grants[j]!.start > grants[i]!.start + 5 && grants[j]!.token < grants[i]!.token) inverted++;
    }
  }
  return { grants: grants.length, inverted, timeouts };
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

  it('waiters are FIFO: no waiter is overtaken by a later one, nobody starves (#19.3)', async () => {
    const locks = [0, 1, 2].map(() => semaphore(2, 'fifo:'));
    const r = await inversions(locks, 'k', 4, 1000);
    expect(r.grants).toBeGreaterThan(50);
    expect(r).toMatchObject({ inverted: 0, timeouts: 0 });
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

  it('writers are FIFO: no writer is overtaken by a later one, nobody starves (#19.3)', async () => {
    const rws = [0, 1, 2].map(() => createRedisReadWriteLock({ client, prefix: 'rwfifo:' }));
    closers.push(...rws.map((rw) => () => rw.close()));
    const r = await inversions(
      rws.map((rw) => rw.write),
      'doc',
      4,
      1000,
    );
    expect(r.grants).toBeGreaterThan(30);
    expect(r).toMatchObject({ inverted: 0, timeouts: 0 });
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

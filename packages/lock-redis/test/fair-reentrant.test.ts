import { isSwitchyardError, runWithLockOwner } from '@switchyard/core';
import { type RedisServer, startRedis } from '@switchyard/testkit/servers';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedisLock, type RedisLock } from '../src/index.js';

let server: RedisServer;
let client: Redis;
const locks: RedisLock[] = [];

function lock(opts: Omit<Parameters<typeof createRedisLock>[0], 'client'> = {}): RedisLock {
  const l = createRedisLock({ client, prefix: `f${locks.length}:`, ...opts });
  locks.push(l);
  return l;
}

beforeAll(async () => {
  server = await startRedis();
  client = new Redis(server.url);
});

afterAll(async () => {
  await Promise.all(locks.map((l) => l.close()));
  client.disconnect();
  await server.stop();
});

const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('fair lock', () => {
  it('grants in FIFO order by direct hand-off', async () => {
    const l = lock({ fair: true, pollInterval: 10_000, queueLease: 30_000 });
    expect(l.capabilities.fair).toBe(true);
    const first = await l.acquire('q');
    const order: number[] = [];
    const waiters = [];
    for (let i = 0; i < 5; i++) {
      waiters.push(
        l.acquire('q', { wait: 5000 }).then(async (lease) => {
          order.push(i);
          await delay(5);
          await lease.release();
          return lease.token;
        }),
      );
      await delay(20); // enqueue in a known order
    }
    expect((await l.inspect('q'))?.waiters).toBe(5);
    expect(await l.list()).toEqual([
      { key: 'q', owner: first.owner, token: first.token, ttlLeft: expect.any(Number), waiters: 5 },
    ]);
    const t0 = performance.now();
    await first.release();
    const tokens = await Promise.all(waiters);
    expect(order).toEqual([0, 1, 2, 3, 4]);
    const stats = l.stats();
    expect(stats.acquired).toBe(6);
    expect(stats.contended).toBe(5);
    expect(stats.waitHistogram.reduce((a, b) => a + b.count, 0)).toBe(6);
    expect(await l.list()).toEqual([]);
    for (let i = 1; i < tokens.length; i++) expect(tokens[i]!).toBeGreaterThan(tokens[i - 1]!);
    expect(performance.now() - t0).toBeLessThan(3000); // hand-off, not the 10 s poll
  });

  it('a waiter that gives up leaves the queue and does not block the next', async () => {
    const l = lock({ fair: true });
    const a = await l.acquire('g');
    const quitter = l.acquire('g', { wait: 100 });
    await delay(20);
    const patient = l.acquire('g', { wait: 5000 });
    await expect(quitter).rejects.toMatchObject({ code: 'LOCK_TIMEOUT' });
    await delay(50);
    await a.release();
    const b = await patient;
    expect(b.token).toBeGreaterThan(a.token);
    await b.release();
  });

  it('a dead waiter costs at most its queue lease', async () => {
    const l = lock({ fair: true, queueLease: 300 });
    const a = await l.acquire('dead', { ttl: 30_000 });
    // A waiter that queued and then died: alive for 300 ms more, asked for a 30 s ttl.
    await client.rpush(`${l.prefix}{dead}:queue`, 'ghost-hid');
    await client.hset(`${l.prefix}{dead}:qmeta`, 'ghost-hid', '30000|ghost');
    const time = await client.time();
    await client.zadd(
      `${l.prefix}{dead}:qdl`,
      Number(time[0]) * 1000 + Math.floor(Number(time[1]) / 1000) + 300,
      'ghost-hid',
    );
    const live = l.acquire('dead', { wait: 5000 });
    await delay(20);
    await a.release(); // hands off to the ghost, which never confirms
    expect((await l.inspect('dead'))?.owner).toBe('ghost');
    expect((await l.inspect('dead'))?.ttlLeft).toBeLessThanOrEqual(300);
    const t0 = performance.now();
    const b = await live;
    expect(performance.now() - t0).toBeLessThan(1500);
    expect(b.token).toBeGreaterThan(a.token + 1n);
    await b.release();
  });
});

describe('reentrant lock', () => {
  it('same async-context owner re-enters; releases count down', async () => {
    const l = lock({ reentrant: true });
    expect(l.capabilities.reentrant).toBe(true);
    await runWithLockOwner('worker-1', async () => {
      const outer = await l.acquire('r', { wait: 0 });
      const inner = await l.acquire('r', { wait: 0 });
      expect(inner.token).toBe(outer.token);
      expect(outer.owner).toBe('worker-1');
      await inner.release();
      expect((await l.inspect('r'))?.owner).toBe('worker-1');
      await runWithLockOwner('worker-2', async () => {
        expect(await l.tryAcquire('r')).toBeUndefined();
      });
      await outer.release();
      expect(await l.inspect('r')).toBeUndefined();
    });
  });

  it('without an owner scope every acquire is its own owner', async () => {
    const l = lock({ reentrant: true });
    const a = await l.acquire('r2');
    expect(await l.tryAcquire('r2')).toBeUndefined();
    const b = await l.acquire('r2', { owner: a.owner, wait: 0 }); // explicit hand-over
    expect(b.token).toBe(a.token);
    await b.release();
    await a.release();
    expect(await l.inspect('r2')).toBeUndefined();
  });

  it('non-reentrant lock refuses the same owner twice', async () => {
    const l = lock();
    const a = await l.acquire('nr', { owner: 'same' });
    const err = await l.acquire('nr', { owner: 'same', wait: 0 }).catch((e: unknown) => e);
    expect(isSwitchyardError(err, 'LOCK_TIMEOUT')).toBe(true);
    await a.release();
  });
});

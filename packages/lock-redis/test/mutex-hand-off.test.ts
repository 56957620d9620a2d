import { type RedisServer, startRedis } from '@switchyard/testkit/servers';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedisLock, type RedisLock } from '../src/index.js';

// The plain (non-fair) mutex: a waiter registers in the lock's queue and the release script hands
// the lock straight to it, in the same round trip.

let server: RedisServer;
const clients: Redis[] = [];
const locks: RedisLock[] = [];

function lock(opts: Partial<Parameters<typeof createRedisLock>[0]> = {}): RedisLock {
  const client = new Redis(server.url);
  clients.push(client);
  const l = createRedisLock({ client, prefix: 'ho:', ...opts });
  locks.push(l);
  return l;
}

const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));

beforeAll(async () => {
  server = await startRedis();
});

afterAll(async () => {
  await Promise.all(locks.map((l) => l.close()));
  for (const c of clients) c.disconnect();
  await server.stop();
});

describe('plain mutex hand-off', () => {
  it('the release script hands the lock to a waiter of another client (no notice + retry)', async () => {
    const a = lock();
    const b = lock({ pollInterval: 10_000 });
    const held = await a.acquire('k', { ttl: 10_000 });
    const waiting = b.acquire('k', { wait: 5000 });
    await delay(50);
    expect((await a.inspect('k'))?.waiters).toBe(1);
    await held.release();
    // Already b's when the release returns: the lock was never free in between.
    const info = await a.inspect('k');
    const lease = await waiting;
    expect(info?.owner).toBe(lease.owner);
    expect(info?.token).toBe(lease.token);
    expect(lease.token).toBeGreaterThan(held.token);
    expect(info?.waiters).toBe(0);
    await lease.release();
    expect(await a.inspect('k')).toBeUndefined();
  });

  it('the holder value carries the waiter flag along a chain of hand-offs', async () => {
    const a = lock();
    const b = lock({ pollInterval: 10_000 });
    const c = lock({ pollInterval: 10_000 });
    const raw = clients[0]!;
    // `w|token|hid|owner`; w = '1' while a waiter may be queued behind the holder.
    const flag = async () => (await raw.get('ho:{chain}:lock'))?.split('|')[0];
    const held = await a.acquire('chain', { ttl: 10_000 });
    expect(await flag()).toBe('0');
    const first = b.acquire('chain', { wait: 5000 });
    await delay(30);
    const second = c.acquire('chain', { wait: 5000 });
    await delay(30);
    expect(await flag()).toBe('1');
    await held.release();
    const lb = await first;
    expect(await flag()).toBe('1'); // c is still queued behind b
    const t0 = performance.now();
    await lb.release();
    const lc = await second;
    expect(performance.now() - t0).toBeLessThan(1000); // handed off, not the 10 s poll
    expect(await flag()).toBe('0');
    expect(lc.token).toBeGreaterThan(lb.token);
    await lc.release();
    expect(await raw.exists('ho:{chain}:lock')).toBe(0);
  });

  it('a queued waiter that takes an expired lock keeps the flag for the others', async () => {
    const a = lock();
    const b = lock({ pollInterval: 10_000 });
    const c = lock({ pollInterval: 10_000 });
    await a.acquire('exp', { ttl: 300, autoRenew: false });
    const waiters = [b.acquire('exp', { wait: 5000 }), c.acquire('exp', { wait: 5000 })];
    // Both poll when the holder expires; one takes the free lock, the other stays queued.
    const winner = await Promise.race(waiters);
    const t0 = performance.now();
    await winner.release();
    const other = (await Promise.all(waiters)).find((l) => l !== winner)!;
    expect(performance.now() - t0).toBeLessThan(1000);
    expect(other.token).toBeGreaterThan(winner.token);
    await other.release();
  });

  it('mutual exclusion and increasing tokens under contention from two clients', async () => {
    const ls = [lock({ pollInterval: 10_000 }), lock({ pollInterval: 10_000 })];
    let inside = 0;
    let overlaps = 0;
    const tokens: bigint[] = [];
    const worker = async (l: RedisLock) => {
      for (let i = 0; i < 15; i++) {
        const lease = await l.acquire('c', { wait: 10_000, ttl: 5000 });
        if (++inside > 1) overlaps++;
        tokens.push(lease.token);
        await delay(Math.random() * 2);
        inside--;
        await lease.release();
      }
    };
    const t0 = performance.now();
    await Promise.all(Array.from({ length: 8 }, (_, i) => worker(ls[i % 2]!)));
    expect(overlaps).toBe(0);
    expect(tokens).toHaveLength(120);
    for (let i = 1; i < tokens.length; i++) expect(tokens[i]!).toBeGreaterThan(tokens[i - 1]!);
    expect(performance.now() - t0).toBeLessThan(8000); // hand-offs, not the 10 s poll
    expect(await ls[0]!.inspect('c')).toBeUndefined();
    expect(await ls[0]!.list()).toEqual([]);
  });

  it('a dead waiter costs at most its queue lease', async () => {
    const l = lock({ queueLease: 300 });
    const client = clients.at(-1)!;
    const a = await l.acquire('dead', { ttl: 30_000 });
    await client.rpush('ho:{dead}:queue', 'ghost-hid');
    await client.hset('ho:{dead}:qmeta', 'ghost-hid', '30000|ghost');
    const time = await client.time();
    await client.zadd(
      'ho:{dead}:qdl',
      Number(time[0]) * 1000 + Math.floor(Number(time[1]) / 1000) + 300,
      'ghost-hid',
    );
    const live = l.acquire('dead', { wait: 5000 });
    await delay(20);
    await a.release(); // hands off to the ghost, which never confirms
    const info = await l.inspect('dead');
    expect(info?.owner).toBe('ghost');
    expect(info?.ttlLeft).toBeLessThanOrEqual(300);
    const t0 = performance.now();
    const b = await live;
    expect(performance.now() - t0).toBeLessThan(1500);
    expect(b.token).toBeGreaterThan(a.token + 1n);
    await b.release();
  });

  it('a waiter that gives up leaves the queue; tryAcquire never queues', async () => {
    const l = lock();
    const a = await l.acquire('q');
    expect(await l.tryAcquire('q')).toBeUndefined();
    expect((await l.inspect('q'))?.waiters).toBe(0);
    const quitter = l.acquire('q', { wait: 100 });
    await delay(20);
    const patient = l.acquire('q', { wait: 5000 });
    await expect(quitter).rejects.toMatchObject({ code: 'LOCK_TIMEOUT' });
    await delay(50);
    expect((await l.inspect('q'))?.waiters).toBe(1);
    await a.release();
    const b = await patient;
    expect(b.token).toBeGreaterThan(a.token);
    await b.release();
    expect(await l.inspect('q')).toBeUndefined();
  });

  it('a waiter that missed its hand-off notice picks the grant up with its real (short) ttl', async () => {
    const a = lock();
    // The waiter's pub/sub connection never comes up (nothing listens on port 1): it polls instead.
    const client = new Redis(server.url);
    clients.push(client);
    client.duplicate = () => new Redis({ port: 1, host: '127.0.0.1', lazyConnect: false });
    const b = createRedisLock({ client, prefix: 'ho:', queueLease: 600, requestTimeout: 200 });
    locks.push(b);
    const held = await a.acquire('m', { ttl: 10_000 });
    const waiting = b.acquire('m', { wait: 5000, ttl: 10_000 });
    await delay(50);
    expect((await a.inspect('m'))?.waiters).toBe(1);
    await held.release(); // hands off; the notice goes nowhere
    const lease = await waiting;
    expect(lease.token).toBeGreaterThan(held.token);
    // The grant lives at most the queue lease; the lease knows and renews it in time.
    await delay(800);
    expect(lease.held).toBe(true);
    expect((await a.inspect('m'))?.ttlLeft).toBeGreaterThan(9000);
    await lease.release();
  });

  it('a hand-off shorter than the ttl is renewed to the full ttl', async () => {
    const a = lock();
    const b = lock({ queueLease: 600 });
    const held = await a.acquire('s', { ttl: 10_000 });
    const waiting = b.acquire('s', { wait: 5000, ttl: 10_000 });
    await delay(50);
    await held.release();
    const lease = await waiting;
    // Granted for at most the waiter's queue lease; the watchdog renews it well before that ends.
    expect((await b.inspect('s'))?.ttlLeft).toBeLessThanOrEqual(600);
    await delay(700);
    expect(lease.held).toBe(true);
    expect((await b.inspect('s'))?.ttlLeft).toBeGreaterThan(9000);
    await lease.release();
  });
});

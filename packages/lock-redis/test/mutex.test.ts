import { isSwitchyardError, SwitchyardError, withLock } from '@switchyard/core';
import { type RedisServer, startRedis } from '@switchyard/testkit/servers';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedisLock, type RedisLock } from '../src/index.js';

let server: RedisServer;
let client: Redis;
const locks: RedisLock[] = [];

function lock(opts: Parameters<typeof createRedisLock>[0] = {}): RedisLock {
  const l = createRedisLock({ client, prefix: `t${locks.length}:`, ...opts });
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

async function code(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
    return undefined;
  } catch (error) {
    if (isSwitchyardError(error)) return `${error.code}${error.field ? `:${error.field}` : ''}`;
    throw error;
  }
}

describe('mutex', () => {
  it('acquires, blocks others, releases; tokens increase', async () => {
    const l = lock();
    const a = await l.acquire('k', { ttl: 5000 });
    expect(a.held).toBe(true);
    expect(await l.tryAcquire('k')).toBeUndefined();
    const info = await l.inspect('k');
    expect(info?.owner).toBe(a.owner);
    expect(info?.token).toBe(a.token);
    expect(info?.ttlLeft).toBeGreaterThan(4000);
    expect(await a.release()).toBe(true);
    expect(await a.release()).toBe(true); // idempotent: the same answer again
    const b = await l.acquire('k');
    expect(b.token).toBeGreaterThan(a.token);
    await b.release();
    expect(await l.inspect('k')).toBeUndefined();
  });

  it('tokens start from server time so a restart without persistence cannot reuse them', async () => {
    const l = lock();
    const a = await l.acquire('epoch');
    const nowMicros = BigInt(Date.now()) * 1000n;
    expect(a.token).toBeGreaterThan(nowMicros - 60_000_000n);
    await a.release();
  });

  it('a waiter is woken by the release notification, not by polling', async () => {
    const l = lock({ pollInterval: 10_000 });
    const a = await l.acquire('w');
    const t0 = performance.now();
    const waiting = l.acquire('w', { wait: 5000 });
    await new Promise((r) => setTimeout(r, 50));
    await a.release();
    const b = await waiting;
    expect(performance.now() - t0).toBeLessThan(1000);
    expect(b.token).toBeGreaterThan(a.token);
    await b.release();
  });

  it('wait timeout gives LOCK_TIMEOUT and abort gives ABORTED', async () => {
    const l = lock();
    const a = await l.acquire('t');
    expect(await code(l.acquire('t', { wait: 100 }))).toBe('LOCK_TIMEOUT');
    const ac = new AbortController();
    const p = l.acquire('t', { signal: ac.signal });
    setTimeout(() => ac.abort(), 50);
    expect(await code(p)).toBe('ABORTED');
    await a.release();
    expect(l.stats().timedOut).toBe(1);
    expect(l.stats().contended).toBeGreaterThanOrEqual(2);
  });

  it('expiry without renewal: lease is lost locally and another owner gets a larger token', async () => {
    const l = lock();
    const a = await l.acquire('exp', { ttl: 200, autoRenew: false });
    const lost = new Promise((r) => a.on('lease:lost', r));
    const b = await l.acquire('exp', { wait: 2000 });
    await lost;
    expect(a.held).toBe(false);
    expect(a.signal.aborted).toBe(true);
    expect(b.token).toBeGreaterThan(a.token);
    expect(await a.release()).toBe(false);
    expect(await code(a.extend())).toBe('LOCK_LOST');
    expect(b.held).toBe(true);
    await b.release();
  });

  it('watchdog renews past the ttl', async () => {
    const l = lock();
    const a = await l.acquire('renew', { ttl: 300 });
    await new Promise((r) => setTimeout(r, 800));
    expect(a.held).toBe(true);
    expect(await l.tryAcquire('renew')).toBeUndefined();
    await a.release();
  });

  it('forceRelease frees the key, keeps the counter and tells the holder', async () => {
    const l = lock();
    const a = await l.acquire('force');
    await new Promise((r) => setTimeout(r, 50)); // let the holder's subscription settle
    const lost = new Promise<unknown>((r) => a.on('lease:lost', r));
    const listed = await l.list();
    expect(listed.map((i) => i.key)).toContain('force');
    expect(await l.forceRelease('force')).toBe(true);
    await lost;
    expect(a.signal.aborted).toBe(true);
    const b = await l.acquire('force');
    expect(b.token).toBeGreaterThan(a.token);
    await b.release();
    expect(await l.forceRelease('force')).toBe(false);
    expect(l.stats().forceReleased).toBe(1);
    expect(l.stats().lost).toBeGreaterThanOrEqual(1);
  });

  it('withLock and await using', async () => {
    const l = lock();
    const r = await withLock(l, 'wl', async (signal, lease) => {
      expect(signal.aborted).toBe(false);
      expect((await l.inspect('wl'))?.token).toBe(lease.token);
      return 42;
    });
    expect(r).toBe(42);
    expect(await l.inspect('wl')).toBeUndefined();
    {
      await using lease = await l.acquire('using');
      expect(lease.held).toBe(true);
    }
    expect(await l.inspect('using')).toBeUndefined();
  });

  it('release by a non-owner is a no-op and reports so', async () => {
    const l = lock();
    const a = await l.acquire('own', { ttl: 150, autoRenew: false });
    await new Promise((r) => setTimeout(r, 300));
    const b = await l.acquire('own');
    expect(await a.release()).toBe(false);
    expect((await l.inspect('own'))?.owner).toBe(b.owner);
    await b.release();
  });

  it('release and extend go by the request holding the lock, never by owner alone (#19.1)', async () => {
    const l = lock();
    const a = await l.acquire('same', { owner: 'shared', ttl: 10_000, autoRenew: false });
    // Another request of the same owner now holds the key (as after an expiry and a re-acquire).
    await client.set(`${l.prefix}{same}:lock`, '0|999|other-request|shared', 'PX', 10_000);
    expect(await code(a.extend())).toBe('LOCK_LOST');
    expect(await a.release()).toBe(false);
    expect(await client.get(`${l.prefix}{same}:lock`)).toBe('0|999|other-request|shared');
    await client.del(`${l.prefix}{same}:lock`);
  });

  it('a release whose reply was lost is retried and answers like the first call (release latch)', async () => {
    const l = lock({ requestTimeout: 600 });
    const a = await l.acquire('latch', { ttl: 10_000 });
    server.process.pause();
    let released: Promise<boolean>;
    try {
      released = a.release(); // the first call times out at 600 ms; the retry goes out then
      await new Promise((r) => setTimeout(r, 900));
    } finally {
      server.process.resume();
    }
    // Both calls run once the server resumes: the first releases, the retry finds the latch.
    expect(await released).toBe(true);
    expect(await l.inspect('latch')).toBeUndefined();
  });

  it('bad input is INVALID_ARGUMENT naming the field', async () => {
    const l = lock();
    expect(await code(l.acquire(''))).toBe('INVALID_ARGUMENT:key');
    expect(await code(l.acquire('x', { ttl: 0 }))).toBe('INVALID_ARGUMENT:ttl');
    expect(await code(l.acquire('x', { ttl: -5 }))).toBe('INVALID_ARGUMENT:ttl');
    expect(await code(l.acquire('x', { ttl: 1e12 }))).toBe('INVALID_ARGUMENT:ttl');
    expect(await code(l.acquire('x', { wait: -1 }))).toBe('INVALID_ARGUMENT:wait');
    expect(await code(l.acquire('x', { owner: '' }))).toBe('INVALID_ARGUMENT:owner');
    expect(await code(l.inspect(''))).toBe('INVALID_ARGUMENT:key');
    expect(() => createRedisLock({})).toThrow(SwitchyardError);
    expect(await code(l.acquire('x', { signal: {} as AbortSignal }))).toBe('INVALID_ARGUMENT:signal');
    expect(await l.inspect('x')).toBeUndefined(); // nothing was taken on the server
    expect(() => createRedisLock({ client, ttl: 0 })).toThrow(/ttl/);
    expect(() => createRedisLock({ client, prefix: 'a{' })).toThrow(/prefix/);
  });

  it('close rejects pending waiters with CLOSED and releases leases', async () => {
    const l = createRedisLock({ url: server.url, prefix: 'closing:' });
    const a = await l.acquire('c');
    const other = lock({ prefix: 'closing:' });
    const w = code(l.acquire('c'));
    await new Promise((r) => setTimeout(r, 30));
    await l.close();
    expect(await w).toBe('CLOSED');
    expect(a.held).toBe(false);
    expect(await other.inspect('c')).toBeUndefined();
    expect(await code(l.acquire('c'))).toBe('CLOSED');
  });
});

describe('waiting inside one process', () => {
  it('local waiters are served in arrival order, and a bounded wait stays bounded behind them', async () => {
    const l = createRedisLock({ client, prefix: 'local:', pollInterval: 10_000 });
    locks.push(l);
    const a = await l.acquire('k');
    const order: number[] = [];
    const waiters = [0, 1, 2].map(async (i) => {
      await new Promise((r) => setTimeout(r, 20 * i));
      const lease = await l.acquire('k', { wait: 5000 });
      order.push(i);
      await lease.release();
    });
    await new Promise((r) => setTimeout(r, 100));
    const t0 = performance.now();
    expect(await code(l.acquire('k', { wait: 150 }))).toBe('LOCK_TIMEOUT');
    expect(performance.now() - t0).toBeLessThan(1000);
    await a.release();
    await Promise.all(waiters);
    expect(order).toEqual([0, 1, 2]);
  });
});

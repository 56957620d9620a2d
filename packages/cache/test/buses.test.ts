import {
  createManualClock,
  createMemoryCacheStore,
  createMemoryLock,
  MemoryLockStore,
} from '@switchyard/core';
import { trackTimers } from '@switchyard/testkit/conformance';
import { type EtcdCluster, type RedisServer, startEtcd, startRedis } from '@switchyard/testkit/servers';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEtcdBus, createEtcdCacheStore } from '../src/etcd/index.js';
import { createCache, createMemoryBus, MemoryBusHub } from '../src/index.js';
import { createRedisBus, createRedisCacheStore, createRedisTrackingBus } from '../src/redis/index.js';

let redis: RedisServer;
let etcd: EtcdCluster;

beforeAll(async () => {
  [redis, etcd] = await Promise.all([startRedis(), startEtcd()]);
});
afterAll(async () => {
  await Promise.all([redis?.stop(), etcd?.stop()]);
});

async function until(probe: () => Promise<boolean> | boolean, ms = 5000): Promise<number> {
  const t0 = performance.now();
  while (!(await probe())) {
    if (performance.now() - t0 > ms) throw new Error(`not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
  return performance.now() - t0;
}

describe('sequence gaps (memory bus, manual clock)', () => {
  it('a lost invalidation is found at the next heartbeat or message; only that namespace is demoted', async () => {
    const clock = createManualClock();
    const hub = new MemoryBusHub();
    const ta = createMemoryBus({ hub });
    const tb = createMemoryBus({ hub });
    const a = createCache({ clock, ttl: 600_000, bus: ta, heartbeatInterval: 1000 });
    const b = createCache({ clock, ttl: 600_000, bus: tb, heartbeatInterval: 1000 });
    await clock.advance(1);
    const gaps: string[] = [];
    b.on('cache:gap', (e) => gaps.push(e.namespace));
    const bu = b.namespace('users');
    const au = a.namespace('users');
    await b.set('root', 'r');
    await bu.set('1', 'b-copy');
    await clock.advance(1);
    tb.loseNext(1);
    await au.set('1', 'a-new'); // its invalidation never reaches b
    await clock.advance(1);
    expect(await bu.get('1')).toBe('b-copy'); // stale, and b cannot know yet
    await clock.advance(1000); // a's heartbeat: "users: seq 1"
    expect(gaps).toEqual(['users:']);
    expect(await bu.get('1')).toBeUndefined(); // demoted: never served as fresh again
    expect(await b.get('root')).toBe('r'); // another namespace: untouched
    // A gap seen on the next message, before any heartbeat.
    await bu.set('2', 'b2');
    await bu.set('3', 'b3');
    await clock.advance(1);
    tb.loseNext(1);
    await au.set('2', 'x');
    await clock.advance(1);
    await au.set('3', 'y');
    await clock.advance(1);
    expect(gaps).toEqual(['users:', 'users:']);
    expect([await bu.get('2'), await bu.get('3')]).toEqual([undefined, undefined]);
    await a.close();
    await b.close();
  });

  it('a silent subscription (own heartbeats stop coming back) demotes L1 and caps new entries', async () => {
    const clock = createManualClock();
    const t = createMemoryBus();
    const c = createCache({ clock, ttl: 600_000, bus: t, heartbeatInterval: 1000 });
    await clock.advance(1);
    await c.set('k', 'v');
    t.loseNext(1_000_000); // nothing comes back, no disconnect event
    await clock.advance(3500);
    expect(c.stats().bus!.trusted).toBe(true); // three heartbeats not back yet: still trusted
    await clock.advance(600);
    expect(c.stats().bus!.trusted).toBe(false);
    expect(await c.get('k')).toBeUndefined();
    await c.set('k2', 'v2');
    expect(await c.get('k2')).toBe('v2');
    await clock.advance(1001);
    expect(await c.get('k2')).toBeUndefined(); // fresh in L1 one heartbeat at most while untrusted
    await c.close();
  });

  it('close() leaves no timer behind (heartbeats included)', async () => {
    const timers = trackTimers();
    try {
      const c = createCache({ bus: createMemoryBus(), heartbeatInterval: 50, l2: createMemoryCacheStore() });
      await c.getOrSet('k', async () => 1);
      await new Promise((r) => setTimeout(r, 120));
      await c.close();
      expect(timers.live(), timers.describeLive()).toBe(0);
    } finally {
      timers.restore();
    }
  });
});

describe('stampede lock on the core DistributedLock contract', () => {
  it('two caches (memory lock, shared store): one load for both', async () => {
    const store = createMemoryCacheStore();
    const locks = new MemoryLockStore();
    const mk = () =>
      createCache({ l2: store, lock: { lock: createMemoryLock({ store: locks }), wait: 2000 } });
    const [a, b] = [mk(), mk()];
    let loads = 0;
    const loader = async () => {
      loads++;
      await new Promise((r) => setTimeout(r, 100));
      return 'v';
    };
    const results = await Promise.all([
      ...Array.from({ length: 100 }, () => a.getOrSet('cold', loader)),
      ...Array.from({ length: 100 }, () => b.getOrSet('cold', loader)),
    ]);
    expect(loads).toBe(1);
    expect(new Set(results)).toEqual(new Set(['v']));
    await a.close();
    await b.close();
  });
});

describe('etcd: store + watch bus', () => {
  it('a write through one cache invalidates the other L1 by the watch, not by TTL', async () => {
    const mk = () =>
      createCache({
        name: 'etcd-bus',
        l2: createEtcdCacheStore({ hosts: etcd.endpoints }),
        bus: createEtcdBus({ hosts: etcd.endpoints }),
        ttl: 600_000,
        heartbeatInterval: 300,
      });
    const [a, b] = [mk(), mk()];
    await until(() => a.stats().bus!.connected && b.stats().bus!.connected);
    await a.set('k', 'v1');
    expect(await b.get('k')).toBe('v1');
    await a.set('k', 'v2');
    const lag = await until(async () => (await b.get('k')) === 'v2', 3000);
    expect(lag).toBeLessThan(3000);
    expect(await b.getOrSet('loaded', () => 'x')).toBe('x');
    expect(await a.get('loaded')).toBe('x');
    await a.close();
    await b.close();
  });
});

describe('Redis CLIENT TRACKING bus (server-assisted invalidation)', () => {
  it('a write by a non-cache Redis client drops the L1 copy', async () => {
    const client = new Redis(redis.url);
    const cache = createCache({
      l2: createRedisCacheStore({ client, prefix: 'trk:' }),
      bus: createRedisTrackingBus({ url: redis.url, prefix: 'trk:' }),
      ttl: 600_000,
    });
    await until(() => cache.stats().bus!.connected);
    await cache.set('a', 'one');
    await cache.set('b', 'two');
    await until(async () => (await cache.get('a')) === 'one');
    const raw = new Redis(redis.url); // e.g. a service in another language
    const encoded = await raw.get('trk:b');
    await raw.set('trk:a', encoded!); // a's entry now holds b's value
    await until(async () => (await cache.get('a')) === 'two', 3000);
    await raw.del('trk:a');
    await until(async () => (await cache.get('a')) === undefined, 3000);
    raw.disconnect();
    await cache.close();
    client.disconnect();
  });

  it('pub/sub bus on a user client: close() releases the subscriber connection', async () => {
    const client = new Redis(redis.url);
    const before = Number(
      String(await client.call('CLIENT', 'LIST'))
        .split('\n')
        .filter(Boolean).length,
    );
    const cache = createCache({ l2: createRedisCacheStore({ client }), bus: createRedisBus({ client }) });
    await until(() => cache.stats().bus!.connected);
    await cache.close();
    await until(
      async () =>
        String(await client.call('CLIENT', 'LIST'))
          .split('\n')
          .filter(Boolean).length === before,
    );
    expect(client.status).toBe('ready');
    client.disconnect();
  });
});

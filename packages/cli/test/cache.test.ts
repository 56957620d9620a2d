import { createCache } from '@switchyard/cache';
import { createEtcdBus, createEtcdCacheStore } from '@switchyard/cache/etcd';
import { createRedisBus, createRedisCacheStore } from '@switchyard/cache/redis';
import { type EtcdCluster, type RedisServer, startEtcd, startRedis } from '@switchyard/testkit/servers';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runBinary } from './run-binary.js';

let redis: RedisServer;
let etcd: EtcdCluster;

beforeAll(async () => {
  [redis, etcd] = await Promise.all([startRedis(), startEtcd()]);
});
afterAll(async () => {
  await Promise.all([redis?.stop(), etcd?.stop()]);
});

/** An application's cache: L1 + Redis + the invalidation bus, as the cache README sets it up. */
function appCache(client: Redis) {
  return createCache({
    name: 'catalog',
    l2: createRedisCacheStore({ client }),
    bus: createRedisBus({ client }),
    ttl: 60_000,
  });
}

describe('switchyard cache on Redis (built binary)', () => {
  it("get, del: the running application's L1 drops its copy too (bus)", async () => {
    const client = new Redis(redis.url);
    await using app = appCache(client);
    try {
      const products = app.namespace('products');
      await products.set('p1', { name: 'lamp', price: 12 });
      await products.set('p2', { name: 'desk', price: 90 });
      const flags = ['--redis', redis.url, '--cache', 'catalog', '--namespace', 'products'];

      const get = await runBinary(['cache', 'get', 'p1', ...flags, '--json']);
      expect(get.code).toBe(0);
      expect(get.json()).toEqual({ key: 'p1', value: { name: 'lamp', price: 12 }, missing: false });
      const human = await runBinary(['cache', 'get', 'p2', ...flags]);
      expect(human.stdout).toContain('"desk"');
      expect((await runBinary(['cache', 'get', 'nope', ...flags])).code).toBe(3);

      // the app now has p1 in its L1; change the store behind its back, then delete via the CLI
      expect(await products.get('p1')).toEqual({ name: 'lamp', price: 12 });
      const del = await runBinary(['cache', 'del', 'p1', 'zzz', ...flags, '--json']);
      expect(del.code).toBe(0);
      expect(del.json()).toEqual({ requested: 2, deleted: 1 });
      await expect.poll(() => products.get('p1'), { timeout: 5000 }).toBeUndefined();
      expect(await products.get('p2')).toEqual({ name: 'desk', price: 90 });
      expect((await runBinary(['cache', 'del', 'zzz', ...flags])).code).toBe(3);
    } finally {
      client.disconnect();
    }
  });

  it('invalidate by tag (hard and --soft), stats, clear --yes', async () => {
    const client = new Redis(redis.url);
    await using app = appCache(client);
    try {
      await app.set('u:1', 'ann', { tags: ['team:red'] });
      await app.set('u:2', 'bob', { tags: ['team:red'] });
      await app.set('u:3', 'cid', { tags: ['team:blue'] });
      const flags = ['--redis', redis.url, '--cache', 'catalog'];

      const stats = await runBinary(['cache', 'stats', '--redis', redis.url, '--json']);
      expect(stats.code).toBe(0);
      const s = stats.json<{ keys: number; bytes: number; persistent: number }>();
      expect(s.keys).toBeGreaterThanOrEqual(3);
      expect(s.bytes).toBeGreaterThan(0);

      expect((await runBinary(['cache', 'invalidate', ...flags])).code).toBe(2); // no --tag
      const inv = await runBinary(['cache', 'invalidate', '--tag', 'team:red', ...flags, '--json']);
      expect(inv.json()).toEqual({ tags: ['team:red'], mode: 'deleted' });
      await expect.poll(() => app.get('u:1'), { timeout: 5000 }).toBeUndefined();
      expect(await app.get('u:2')).toBeUndefined();
      expect(await app.get('u:3')).toBe('cid');

      const soft = await runBinary(['cache', 'invalidate', '--tag', 'team:blue', '--soft', ...flags]);
      expect(soft.code).toBe(0);
      expect(soft.stdout).toContain('expired');

      const declined = await runBinary(['cache', 'clear', ...flags]);
      expect(declined.code).toBe(5);
      const clear = await runBinary(['cache', 'clear', '--yes', ...flags]);
      expect(clear.code).toBe(0);
      const after = await runBinary(['cache', 'get', 'u:3', ...flags]);
      expect(after.code).toBe(3);
    } finally {
      client.disconnect();
    }
  });
});

describe('switchyard cache on etcd (built binary)', () => {
  it('get, del and stats on the etcd store', async () => {
    await using app = createCache({
      name: 'sessions',
      l1: false,
      l2: createEtcdCacheStore({ hosts: etcd.endpoints }),
      bus: createEtcdBus({ hosts: etcd.endpoints }),
    });
    await app.set('s:1', { user: 7 });
    const flags = ['--etcd', etcd.endpoints.join(','), '--cache', 'sessions'];
    const get = await runBinary(['cache', 'get', 's:1', ...flags, '--json']);
    expect(get.code).toBe(0);
    expect(get.json()).toMatchObject({ value: { user: 7 } });
    const stats = await runBinary(['cache', 'stats', '--etcd', etcd.endpoints.join(','), '--json']);
    expect(stats.json()).toMatchObject({ backend: 'etcd', prefix: '/switchyard/cache', persistent: null });
    expect(stats.json<{ keys: number }>().keys).toBeGreaterThanOrEqual(1);
    const del = await runBinary(['cache', 'del', 's:1', ...flags]);
    expect(del.code).toBe(0);
    expect(await app.get('s:1')).toBeUndefined();
  });
});

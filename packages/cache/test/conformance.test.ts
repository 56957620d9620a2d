import { runCacheStoreConformance } from '@switchyard/testkit/conformance';
import { type EtcdCluster, type RedisServer, startEtcd, startRedis } from '@switchyard/testkit/servers';
import { Etcd3 } from 'etcd3';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEtcdCacheStore } from '../src/etcd/index.js';
import { createRedisCacheStore } from '../src/redis/index.js';
import { startRedisCluster, type TestCluster } from './helpers/redis-cluster.js';

let redis: RedisServer;
let cluster: TestCluster;
let etcd: EtcdCluster;

beforeAll(async () => {
  [redis, cluster, etcd] = await Promise.all([startRedis(), startRedisCluster(), startEtcd()]);
});
afterAll(async () => {
  await Promise.all([redis?.stop(), cluster?.stop(), etcd?.stop()]);
});

runCacheStoreConformance({
  name: 'redis (single node, url)',
  async create() {
    const store = createRedisCacheStore({ url: redis.url });
    const peer = createRedisCacheStore({ url: redis.url });
    return { store, peer, cleanup: async () => void (await Promise.all([store.close(), peer.close()])) };
  },
});

runCacheStoreConformance({
  name: 'redis (3-master cluster, client)',
  async create() {
    const client = cluster.connect();
    const store = createRedisCacheStore({ client, prefix: 'cc:' });
    const peer = createRedisCacheStore({ client: cluster.connect(), prefix: 'cc:' });
    return { store, peer, cleanup: async () => void (await Promise.all([store.close(), peer.close()])) };
  },
});

runCacheStoreConformance({
  name: 'etcd',
  ttlGranularity: 'seconds',
  async create() {
    const store = createEtcdCacheStore({ hosts: etcd.endpoints });
    const peer = createEtcdCacheStore({ hosts: etcd.endpoints });
    return { store, peer, cleanup: async () => void (await Promise.all([store.close(), peer.close()])) };
  },
});

describe('store specifics', () => {
  it('etcd: 10 000 keys with one TTL share a handful of leases, and expire', async () => {
    const probe = new Etcd3({ hosts: etcd.endpoints });
    const before = (await probe.leaseClient.leaseLeases({})).leases.length;
    const store = createEtcdCacheStore({ hosts: etcd.endpoints, prefix: '/lease-test' });
    const entries = Array.from({ length: 10_000 }, (_, i) => ({ key: `k${i}`, value: 'v', ttl: 2_000 }));
    for (let i = 0; i < entries.length; i += 1000) await store.setMany(entries.slice(i, i + 1000));
    await store.set('single', 'v', { ttl: 2_000 });
    expect(store.leasesGranted).toBeGreaterThan(0);
    // Writing takes well under two 1 s buckets here: one or two leases (three on a very slow run).
    expect(store.leasesGranted).toBeLessThanOrEqual(3);
    const leases = await probe.leaseClient.leaseLeases({});
    expect(leases.leases.length - before).toBeLessThanOrEqual(3);
    const deadline = Date.now() + 8_000;
    while ((await store.getMany(['k0', 'k9999', 'single'])).some((v) => v !== undefined)) {
      if (Date.now() > deadline) throw new Error('keys did not expire');
      await new Promise((r) => setTimeout(r, 200));
    }
    probe.close();
    await store.close();
  });

  it('redis: clear scans (never KEYS) and stays inside the store prefix', async () => {
    const raw = new Redis(redis.url);
    await raw.set('foreign:key', 'keep');
    const store = createRedisCacheStore({ client: raw, prefix: 'scan:', scanCount: 10 });
    await store.setMany(Array.from({ length: 300 }, (_, i) => ({ key: `n:${i}`, value: 'v' })));
    await raw.call('CONFIG', 'RESETSTAT');
    await store.clear();
    const stats = String(await raw.call('INFO', 'commandstats'));
    expect(stats).toContain('cmdstat_scan');
    expect(stats).not.toContain('cmdstat_keys');
    expect(stats).not.toContain('cmdstat_flushdb');
    expect(await raw.keys('scan:*')).toEqual([]); // (KEYS here is the test's check, not the store's)
    expect(await raw.get('foreign:key')).toBe('keep');
    await store.close();
    expect(raw.status).toBe('ready'); // the user's client is not closed
    raw.disconnect();
  });

  it('redis cluster: a batch spread over every master is split per slot', async () => {
    const client = cluster.connect();
    const store = createRedisCacheStore({ client, prefix: 'slots:' });
    const keys = Array.from({ length: 200 }, (_, i) => `k${i}`);
    await store.setMany(keys.map((k) => ({ key: k, value: k })));
    expect(await store.getMany(keys)).toEqual(keys);
    const sizes = await Promise.all(client.nodes('master').map((n) => n.dbsize()));
    expect(sizes.every((s) => s > 0)).toBe(true);
    expect(await store.deleteMany(keys)).toBe(200);
    await store.close();
  });
});

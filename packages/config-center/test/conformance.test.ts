import { createMemoryConfigStore, MemoryConfigState } from '@switchyard/core';
import { runConfigStoreConformance } from '@switchyard/testkit/conformance';
import { type EtcdCluster, type RedisServer, startEtcd, startRedis } from '@switchyard/testkit/servers';
import { afterAll, beforeAll } from 'vitest';
import { createEtcdConfigStore, createRedisConfigStore } from '../src/index.js';

let redis: RedisServer;
let etcd: EtcdCluster;
beforeAll(async () => {
  [redis, etcd] = await Promise.all([startRedis(), startEtcd()]);
}, 60_000);
afterAll(async () => {
  await Promise.all([redis?.stop(), etcd?.stop()]);
});

runConfigStoreConformance({
  name: 'memory',
  create: async () => {
    const state = new MemoryConfigState();
    const a = createMemoryConfigStore({ state });
    const b = createMemoryConfigStore({ state });
    return { a, b, cleanup: async () => void (await Promise.all([a.close(), b.close()])) };
  },
});

runConfigStoreConformance({
  name: 'redis',
  create: async () => {
    const a = createRedisConfigStore({ url: redis.url });
    const b = createRedisConfigStore({ url: redis.url });
    const compact = async () => void (await redis.command('XTRIM switchyard:cfg:log MAXLEN 0'));
    return { a, b, compact, cleanup: async () => void (await Promise.all([a.close(), b.close()])) };
  },
});

runConfigStoreConformance({
  name: 'etcd',
  create: async () => {
    const a = createEtcdConfigStore({ hosts: etcd.endpoints });
    const b = createEtcdConfigStore({ hosts: etcd.endpoints });
    return { a, b, cleanup: async () => void (await Promise.all([a.close(), b.close()])) };
  },
});

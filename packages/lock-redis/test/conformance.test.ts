import { runLockConformance } from '@switchyard/testkit/conformance';
import { type RedisServer, startRedis, startRedisServers } from '@switchyard/testkit/servers';
import { afterAll, beforeAll } from 'vitest';
import {
  createRedisLock,
  createRedisReadWriteLock,
  createRedisSemaphore,
  createRedlock,
} from '../src/index.js';

let redis: RedisServer;
let nodes: RedisServer[];
beforeAll(async () => {
  [redis, nodes] = await Promise.all([startRedis(), startRedisServers(3)]);
});
afterAll(async () => {
  await Promise.all([redis?.stop(), ...(nodes ?? []).map((n) => n.stop())]);
});

for (const fair of [false, true]) {
  runLockConformance({
    name: fair ? 'redis (fair)' : 'redis',
    create: async () => {
      const a = createRedisLock({ url: redis.url, fair });
      const b = createRedisLock({ url: redis.url, fair });
      return { a, b, cleanup: async () => void (await Promise.all([a.close(), b.close()])) };
    },
  });
}

runLockConformance({
  name: 'redlock (3 nodes)',
  create: async () => {
    const urls = nodes.map((n) => n.url);
    const a = createRedlock({ urls });
    const b = createRedlock({ urls });
    return { a, b, cleanup: async () => void (await Promise.all([a.close(), b.close()])) };
  },
});

runLockConformance({
  name: 'redis semaphore (1 permit)',
  create: async () => {
    const a = createRedisSemaphore({ url: redis.url, permits: 1 });
    const b = createRedisSemaphore({ url: redis.url, permits: 1 });
    return { a, b, cleanup: async () => void (await Promise.all([a.close(), b.close()])) };
  },
});

runLockConformance({
  name: 'redis read-write lock (write side)',
  create: async () => {
    const a = createRedisReadWriteLock({ url: redis.url });
    const b = createRedisReadWriteLock({ url: redis.url });
    return { a: a.write, b: b.write, cleanup: async () => void (await Promise.all([a.close(), b.close()])) };
  },
});

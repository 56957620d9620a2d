import { runLockConformance } from '@switchyard/testkit/conformance';
import { type RedisServer, startRedis, startRedisServers } from '@switchyard/testkit/servers';
import { afterAll, beforeAll } from 'vitest';
import {
  createRedisLock,
  createRedisReadWriteLock,
  createRedisSemaphore,
  createRedlock,
} from '../src/index.js';

// Every lock kind runs the shared suite; the fallback poll is long, so only notifications can pass
// the wake-up bound.
let redis: RedisServer;
let nodes: RedisServer[];
beforeAll(async () => {
  [redis, nodes] = await Promise.all([startRedis(), startRedisServers(3)]);
});
afterAll(async () => {
  await Promise.all([redis?.stop(), ...(nodes ?? []).map((n) => n.stop())]);
});

const pair = <T extends { close(): Promise<void> }>(make: () => T) => {
  const a = make();
  const b = make();
  return { a, b, cleanup: async () => void (await Promise.all([a.close(), b.close()])) };
};

for (const [name, extra] of [
  ['redis', {}],
  ['redis (fair)', { fair: true }],
  ['redis (reentrant)', { reentrant: true }],
] as const) {
  runLockConformance({
    name,
    create: async () => pair(() => createRedisLock({ url: redis.url, pollInterval: 5000, ...extra })),
  });
}

for (const permits of [1, 3]) {
  runLockConformance({
    name: `redis semaphore (${permits} permit${permits > 1 ? 's' : ''})`,
    permits,
    create: async () => pair(() => createRedisSemaphore({ url: redis.url, permits, pollInterval: 5000 })),
  });
}

runLockConformance({
  name: 'redis read-write lock (write side)',
  create: async () => {
    const a = createRedisReadWriteLock({ url: redis.url, pollInterval: 5000 });
    const b = createRedisReadWriteLock({ url: redis.url, pollInterval: 5000 });
    return { a: a.write, b: b.write, cleanup: async () => void (await Promise.all([a.close(), b.close()])) };
  },
});

runLockConformance({
  name: 'redlock (3 nodes)',
  create: async () => pair(() => createRedlock({ urls: nodes.map((n) => n.url), pollInterval: 5000 })),
});

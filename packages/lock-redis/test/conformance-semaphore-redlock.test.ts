import { runLockConformance } from '@switchyard/testkit/conformance';
import { type RedisServer, startRedis, startRedisServers } from '@switchyard/testkit/servers';
import { afterAll, beforeAll } from 'vitest';
import { createRedisSemaphore, createRedlock } from '../src/index.js';

// The shared suite on the semaphore (1 and 3 permits) and Redlock over 3 nodes (the mutex kinds are
// in conformance.test.ts); the fallback poll is long, so only notifications can pass the wake-up bound.
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

for (const permits of [1, 3]) {
  runLockConformance({
    name: `redis semaphore (${permits} permit${permits > 1 ? 's' : ''})`,
    permits,
    create: async () => pair(() => createRedisSemaphore({ url: redis.url, permits, pollInterval: 5000 })),
  });
}

runLockConformance({
  name: 'redlock (3 nodes)',
  create: async () => pair(() => createRedlock({ urls: nodes.map((n) => n.url), pollInterval: 5000 })),
});

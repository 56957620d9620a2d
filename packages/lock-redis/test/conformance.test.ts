import { runLockConformance } from '@switchyard/testkit/conformance';
import { type RedisServer, startRedis } from '@switchyard/testkit/servers';
import { afterAll, beforeAll } from 'vitest';
import { createRedisLock, createRedisReadWriteLock } from '../src/index.js';

// Every lock kind runs the shared suite (this file: the mutex kinds and the writer side; the
// semaphore and Redlock are in conformance-semaphore-redlock.test.ts, so the two files run in
// parallel). The fallback poll is long, so only notifications can pass the wake-up bound.
let redis: RedisServer;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis?.stop();
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

runLockConformance({
  name: 'redis read-write lock (write side)',
  create: async () => {
    const a = createRedisReadWriteLock({ url: redis.url, pollInterval: 5000 });
    const b = createRedisReadWriteLock({ url: redis.url, pollInterval: 5000 });
    return { a: a.write, b: b.write, cleanup: async () => void (await Promise.all([a.close(), b.close()])) };
  },
});

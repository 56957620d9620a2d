import { runDiscoveryConformance } from '@switchyard/testkit/conformance';
import { type RedisServer, startRedis } from '@switchyard/testkit/servers';
import { afterAll, beforeAll } from 'vitest';
import { createRedisDiscovery } from '../src/index.js';

let redis: RedisServer;
let run = 0;

beforeAll(async () => {
  // With an append-only file: the interruption test restarts the server without losing data.
  redis = await startRedis({ persistence: true });
});
afterAll(async () => {
  await redis?.stop();
});

runDiscoveryConformance({
  name: 'redis (single node)',
  ttlGranularity: 'milliseconds',
  create: async () => {
    // A prefix per test keeps tests independent on the shared server.
    const prefix = `conformance:${++run}:`;
    const options = { url: redis.url, prefix, ttl: 2000, requestTimeout: 1000, backoff: { max: 500 } };
    const a = createRedisDiscovery(options);
    const b = createRedisDiscovery(options);
    return {
      a,
      b,
      cleanup: async () => {
        await Promise.all([a.close(), b.close()]);
      },
      interrupt: async () => {
        await redis.process.restart();
      },
      // The server forgets every registration.
      forget: async () => {
        await redis.command('FLUSHALL');
      },
    };
  },
});

import { type RedisServer, startRedis } from '@switchyard/testkit/servers';
import { createRedisRouteStore } from '../src/index.js';
import { runRouteConformance } from './route-conformance.js';

let redis: RedisServer;
runRouteConformance({
  name: 'redis',
  async store() {
    redis ??= await startRedis();
    return createRedisRouteStore({ url: redis.url, requestTimeout: 1_000 });
  },
  teardown: () => redis.stop(),
});

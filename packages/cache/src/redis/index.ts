export {
  createRedisBus,
  createRedisTrackingBus,
  type RedisBusOptions,
  type RedisTrackingBusOptions,
} from './redis-bus.js';
export type { RedisClient } from './redis-client.js';
export { createRedisCacheStore, type RedisCacheStoreOptions } from './redis-store.js';

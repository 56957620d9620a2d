export type { RedisClient } from './redis-client.js';
export { createRedisCacheStore, type RedisCacheStoreOptions } from './redis-store.js';

export { createRedisConfigStore, type RedisConfigStoreOptions } from './store/redis-config-store.js';

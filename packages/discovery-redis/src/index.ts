export {
  createRedisDiscovery,
  type RedisDiscovery,
  type RedisDiscoveryOptions,
} from './redis-discovery.js';
export type { RedisRecord } from './redis-registration.js';
export type { RedisClient } from './scripts.js';

export {
  type FencedWriteOptions,
  fencedWrite,
  type SqlFenceOptions,
  type SqlFragment,
  sqlFenceAssignment,
  sqlFenceCondition,
} from './fencing-guards.js';
export type { RedisClient } from './lua-script.js';
export type { PermitHolder } from './permit-holders.js';
export {
  createRedisLock,
  type RedisLock,
  type RedisLockCommonOptions,
  type RedisLockOptions,
} from './redis-lock.js';
export {
  createRedisReadWriteLock,
  type RedisReadWriteLock,
  type RedisReadWriteLockOptions,
} from './redis-read-write-lock.js';
export { createRedisSemaphore, type RedisSemaphore, type RedisSemaphoreOptions } from './redis-semaphore.js';
export { createRedlock, type Redlock, type RedlockOptions } from './redlock.js';

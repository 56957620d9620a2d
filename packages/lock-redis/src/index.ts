export type { RedisLockCommonOptions } from './common-options.js';
export {
  type FencedWriteOptions,
  type FencedWriteResult,
  fencedWrite,
  type SqlFenceOptions,
  type SqlFragment,
  sqlFenceAssignment,
  sqlFenceCondition,
} from './fencing-guards.js';
export type { LockAdmin } from './lock-admin.js';
export { type LockStatsSnapshot, WAIT_BUCKETS_MS } from './lock-stats.js';
export type { RedisClient } from './lua-script.js';
export { currentLockOwner, runWithLockOwner } from './owner-scope.js';
export { createRedisLock, type RedisLock, type RedisLockOptions } from './redis-lock.js';
export {
  createRedisReadWriteLock,
  type RedisReadWriteLock,
  type RedisReadWriteLockOptions,
} from './redis-read-write-lock.js';
export { createRedisSemaphore, type RedisSemaphore, type RedisSemaphoreOptions } from './redis-semaphore.js';
export { createRedlock, type Redlock, type RedlockOptions } from './redlock.js';
export type { PermitHolder } from './semaphore-strategy.js';

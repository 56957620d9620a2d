/** @deprecated `LockAdmin` and `LockStats` live in `@switchyard/core`. */
export type { LockAdmin, LockStats as LockStatsSnapshot } from '@switchyard/core';
export { WAIT_BUCKETS_MS } from '@switchyard/core';
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

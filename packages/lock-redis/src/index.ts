export type { RedisLockCommonOptions } from './common-options.js';
export type { LockAdmin } from './lock-admin.js';
export { type LockStatsSnapshot, WAIT_BUCKETS_MS } from './lock-stats.js';
export type { RedisClient } from './lua-script.js';
export { currentLockOwner, runWithLockOwner } from './owner-scope.js';
export { createRedisLock, type RedisLock, type RedisLockOptions } from './redis-lock.js';

/**
 * `@switchyard/core/driver`: the kit for backend authors. A backend implements only what its
 * server does natively (a `RegistrationDriver`, a list/watch pair, lock attempts, cache get/set);
 * the semantics every backend shares live here, once. See docs/writing-a-backend.md.
 */

export { assertRegistrable, INSTANCE_LIMITS } from '../discovery/instance.js';
export {
  HEALTHY_WATCH_MS,
  runWatchLoop,
  type WatchLoopOptions,
  type WatchSource,
} from '../discovery/watch-loop.js';
export { LockStatsRecorder } from '../lock/lock-stats-recorder.js';
export { type LeaseDriver, ManagedLease, type ManagedLeaseOptions } from '../lock/managed-lease.js';
export { ReentrantLease } from '../lock/reentrant-lease.js';
export { DEFAULT_REQUEST_TIMEOUT, DEFAULT_TTL, DEFAULT_UNAVAILABLE_AFTER, KEY_PREFIX } from '../naming.js';
export { editDistance, nearestName } from '../options/nearest-name.js';
export {
  exclusiveOptions,
  Option,
  type OptionPath,
  type OptionSchema,
  opt,
  type ParsedOptions,
  parseOptions,
} from '../options/option-schema.js';
export { clampedRandom } from '../primitives/backoff.js';
// Primitives for drivers
export { type DeadlineOutcome, raceDeadline } from '../primitives/deadline-race.js';
export { TRACING_CHANNELS, traced } from '../primitives/tracing.js';
// Calls and options
export { type BackendCallOptions, callBackend, raceBackend } from './backend-call.js';
// Cache stores
export {
  type CacheEntry,
  type CacheStoreDriver,
  type CacheStoreKitOptions,
  defineCacheStore,
} from './cache/define-cache-store.js';
// Config stores
export { ConfigStoreGuards } from './config/config-store-guards.js';
// Discovery
export {
  type DiscoveryKitOptions,
  defineDiscoveryBackend,
  type KitDiscoveryBackend,
} from './discovery/define-discovery-backend.js';
export {
  type DiscoveryDriver,
  isWatchReset,
  type ServiceListing,
  type WatchBatch,
  type WatchChange,
  type WatchPosition,
  watchResetError,
} from './discovery/discovery-driver.js';
export type { FeedStats } from './discovery/service-feed.js';
export {
  type CallPolicy,
  type HostBreakerOptions,
  hostBreaker,
  hostBreakers,
  isHostSkipped,
  type PoolFaultHandlingOptions,
  poolFaultHandling,
  type RetryPolicyOptions,
  retryPolicy,
} from './host-breaker.js';
// Locks
export { defineLock, type KitLock, type LockKitOptions, lockOptions } from './lock/define-lock.js';
export type { LockCommonOptions } from './lock/lock-common-options.js';
export type {
  LockAttempt,
  LockAttemptOptions,
  LockDriver,
  LockRequest,
  LockWaiter,
} from './lock/lock-driver.js';
export { ManagedRegistration, type ManagedRegistrationOptions } from './registration/managed-registration.js';
export type { RegistrationDriver } from './registration/registration-driver.js';

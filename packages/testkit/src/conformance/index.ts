export {
  type CacheStoreConformanceOptions,
  type CacheStoreConformanceTarget,
  runCacheStoreConformance,
} from './cache-store.js';
export {
  type ConfigStoreConformanceOptions,
  type ConfigStoreConformanceTarget,
  runConfigStoreConformance,
} from './config-store.js';
export {
  type DiscoveryConformanceOptions,
  type DiscoveryConformanceTarget,
  runDiscoveryConformance,
} from './discovery.js';
export {
  activeSockets,
  delay,
  eventually,
  expectSwitchyardError,
  settleWithin,
  type TimerTracker,
  trackTimers,
} from './expect-error.js';
export { type LockConformanceOptions, type LockConformanceTarget, runLockConformance } from './lock.js';

// Contracts

export type * from './contracts/cache-store.js';
export type * from './contracts/config-store.js';
export type * from './contracts/discovery.js';
export type * from './contracts/lock.js';
export type * from './contracts/picker.js';
// Traffic rules
export type * from './contracts/traffic-rules.js';
// Discovery client (watch-driven cache, filters, traffic rules, stale-on-error, registration helper)
export { createDiscoveryClient } from './discovery/client/discovery-client.js';
export { TrafficFilter } from './discovery/client/traffic-filter.js';
export type {
  ClientDiscoveryEvent,
  ClientEventSource,
  ClientInstanceFilter,
  ClientRegisterOptions,
  ClientRegistration,
  ClientResolveOptions,
  ClientSnapshot,
  DiscoveryClient,
  DiscoveryClientEvents,
  DiscoveryClientOptions,
  DiscoverySource,
  ServiceCacheState,
  ServiceStatus,
} from './discovery/client/types.js';
// Discovery helpers
export {
  diffInstances,
  INSTANCE_HEALTH,
  instancesEqual,
  isEmptyDiff,
  matchesFilter,
  normalizeInstance,
  sortInstances,
  validateFilter,
} from './discovery/instance.js';
export type { KitDiscoveryBackend } from './driver/discovery/define-discovery-backend.js';
export type { KitLock } from './driver/lock/define-lock.js';
// Errors and validation
export {
  abortedError,
  backendUnavailable,
  closedError,
  ERROR_CODES,
  type ErrorCode,
  invalidArgument,
  isSwitchyardError,
  lockTimeoutError,
  SwitchyardError,
  type SwitchyardErrorOptions,
  unsupportedError,
} from './errors.js';
export { LockStatsRecorder, WAIT_BUCKETS_MS } from './lock/lock-stats-recorder.js';
// Lock helpers
export { type LeaseDriver, ManagedLease, type ManagedLeaseOptions } from './lock/managed-lease.js';
export { currentLockOwner, runWithLockOwner } from './lock/owner-scope.js';
export { withLock } from './lock/with-lock.js';
export { createMemoryCacheStore, type MemoryCacheStoreOptions } from './memory/cache-store.js';
export {
  createMemoryConfigStore,
  MemoryConfigState,
  type MemoryConfigStoreOptions,
} from './memory/config-store.js';
export type { MemoryRecord } from './memory/discovery.js';
// In-memory backends (the embedded default)
export {
  createMemoryDiscovery,
  type MemoryDiscoveryOptions,
  MemoryDiscoveryStore,
} from './memory/discovery.js';
export { createMemoryLock, type MemoryLockOptions, MemoryLockStore } from './memory/lock.js';
export { anySignal, deadlineSignal, raceSignal, sleep, throwIfAborted } from './primitives/abort.js';
export { type Backoff, type BackoffOptions, fullJitterBackoff, jitter } from './primitives/backoff.js';
export { AsyncChannel } from './primitives/channel.js';
// Primitives
export {
  type Clock,
  createManualClock,
  type ManualClock,
  systemClock,
  type TimerHandle,
} from './primitives/clock.js';
export {
  DIAGNOSTICS_CHANNELS,
  DIAGNOSTICS_PREFIX,
  publishDiagnostic,
  subscribeDiagnostic,
} from './primitives/diagnostics.js';
export type { DiagnosticSource, DiagnosticsPayloads } from './primitives/diagnostics-payloads.js';
export { Emitter, type ListenerErrorHandler, type Unsubscribe } from './primitives/emitter.js';
export { SingleFlight } from './primitives/single-flight.js';
export {
  createMemoryRulesSource,
  type MemoryRulesSource,
  validateTrafficRules,
} from './rules/memory-rules-source.js';
export { hasPullOuts, pullOutsOf, routesOf } from './rules/traffic-rule-parts.js';
export {
  assertAddress,
  assertDuration,
  assertFunction,
  assertInstanceId,
  assertInteger,
  assertKey,
  assertNonEmptyString,
  assertNumberInRange,
  assertOneOf,
  assertPort,
  assertServiceName,
  assertSignal,
  assertString,
  assertStringArray,
  assertStringRecord,
  assertWait,
  assertWeight,
  describe as describeValue,
  MAX_DURATION_MS,
} from './validation.js';

// The public entry: what applications use. Internals (breaker/budget/throttle classes, option
// resolvers, the endpoint state, the non-standard jump bucket function) stay inside the package.
export { type Balancer, type BalancerEvents, createBalancer } from './balancer/balancer.js';
export type {
  BalancerOptions,
  OutlierDetectionOptions,
  SlowStartOptions,
  WatchSource,
} from './balancer/balancer-options.js';
export type { EndpointStatsView } from './balancer/endpoint-state.js';
export type { LocalityOptions } from './balancer/locality-plan.js';
export type { PickHandle } from './balancer/pick-handle.js';
export { murmur3Bytes, murmur3String } from './hashing/murmur3.js';
export {
  type BalancedFetch,
  type BalancedFetchOptions,
  type BalancedRequestInit,
  createBalancedFetch,
  type FetchFunction,
  type HedgeOptions,
} from './http/balanced-fetch.js';
export { type BoundedLoadOptions, boundedLoadPicker } from './pickers/bounded-load.js';
export { type JumpHashOptions, jumpHashPicker } from './pickers/jump-hash.js';
export { type LeastRequestOptions, leastRequestPicker } from './pickers/least-request.js';
export { type MaglevOptions, maglevPicker } from './pickers/maglev.js';
export { type PeakEwmaOptions, peakEwmaPicker } from './pickers/peak-ewma.js';
export { randomPicker } from './pickers/random.js';
export { type RendezvousOptions, rendezvousPicker } from './pickers/rendezvous.js';
export { type RingHashOptions, ringHashPicker } from './pickers/ring-hash.js';
export { roundRobinPicker } from './pickers/round-robin.js';
export { smoothWeightedRoundRobinPicker } from './pickers/smooth-weighted-round-robin.js';
export { weightedRandomPicker } from './pickers/weighted-random.js';
export type { AdaptiveThrottleOptions } from './resilience/adaptive-throttle.js';
export type { BreakerState, CircuitBreakerOptions } from './resilience/circuit-breaker.js';
export type { LatencyTracker } from './resilience/latency-tracker.js';
export type { RetryBudget, RetryBudgetOptions } from './resilience/retry-budget.js';

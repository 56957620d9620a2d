import type {
  BackoffOptions,
  Clock,
  DiscoveryEvent,
  InstanceFilter,
  PickerBuilder,
  TrafficRulesSource,
} from '@switchyard/core';
import { assertFunction, assertServiceName, invalidArgument, systemClock } from '@switchyard/core';
import type { AdaptiveThrottleOptions } from '../resilience/adaptive-throttle.js';
import {
  type CircuitBreakerOptions,
  type ResolvedBreakerOptions,
  resolveBreakerOptions,
} from '../resilience/circuit-breaker.js';
import type { RetryBudgetOptions } from '../resilience/retry-budget.js';
import { PKG } from '../weights/prepared-set.js';
import type { ResolvedOutlierOptions, ResolvedSlowStartOptions } from './endpoint-state.js';
import type { LocalityOptions } from './locality-plan.js';

/** Anything with the discovery backend's `watch` signature (a backend or a discovery client). */
export interface WatchSource {
  watch(
    service: string,
    options?: { filter?: InstanceFilter; signal?: AbortSignal },
  ): AsyncIterable<DiscoveryEvent>;
}

export interface OutlierDetectionOptions {
  /** Eject after this many consecutive failures. Default 5. */
  consecutiveFailures?: number;
  /** Ejection time = base × times ejected, capped at `maxEjectionTime`. Default 30 000 ms. */
  baseEjectionTime?: number;
  /** Default 300 000 ms. */
  maxEjectionTime?: number;
  /** At most this percentage of instances ejected at once (at least one). Default 10. */
  maxEjectionPercent?: number;
}

export interface SlowStartOptions {
  /** Ramp duration, ms. Default 30 000. */
  window?: number;
  /** Ramp shape: weight × (elapsed / window)^(1 / aggression). Default 1 (linear). */
  aggression?: number;
  /** Starting weight, percent of the full weight. Default 10. */
  minWeightPercent?: number;
}

export interface BalancerOptions {
  discovery: WatchSource;
  service: string;
  /** Picker builder (default `leastRequestPicker()`). */
  picker?: PickerBuilder;
  /** Filter passed to `watch` (default: passing instances). */
  filter?: InstanceFilter;
  clock?: Clock;
  random?: () => number;
  /** Caller locality; traffic prefers its zone, then region. */
  locality?: LocalityOptions;
  /** Below this fraction of eligible instances, eligibility is ignored (panic). 0 disables. Default 0.5. */
  panicThreshold?: number;
  /** Per-instance circuit breaker (default on), or false. */
  breaker?: CircuitBreakerOptions | false;
  /** Per-service circuit breaker (default off): when open, `pick` fails fast with CIRCUIT_OPEN. */
  serviceBreaker?: CircuitBreakerOptions | false;
  /** Outlier ejection (default on), or false. */
  outlierDetection?: OutlierDetectionOptions | false;
  /** Weight ramp for new and recovered instances (default off). */
  slowStart?: SlowStartOptions | false;
  /** Google SRE client-side throttling (default off). */
  adaptiveThrottle?: AdaptiveThrottleOptions | false;
  /** Retry budget shared by everything retrying against this service (default on: 20 % + 10/s). */
  retryBudget?: RetryBudgetOptions | false;
  /** Keep a request key on the same instance while it is healthy (default off). */
  sticky?: boolean | { maxKeys?: number };
  /** Live traffic rules (pull-outs, weighted groups, canary). */
  rules?: TrafficRulesSource;
  /** This caller's IP, for canary allow-lists (a pick context `callerIp` overrides it). */
  callerIp?: string;
  /** Peak-EWMA decay time constant, ms. Default 10 000 (Finagle). */
  ewmaDecay?: number;
  /** Backoff between watch restarts. */
  watchBackoff?: BackoffOptions;
}

export interface ResolvedBalancerOptions {
  readonly service: string;
  readonly clock: Clock;
  readonly random: () => number;
  readonly panicThreshold: number;
  readonly breaker: ResolvedBreakerOptions | undefined;
  readonly serviceBreaker: ResolvedBreakerOptions | undefined;
  readonly outlier: ResolvedOutlierOptions | undefined;
  readonly slowStart: ResolvedSlowStartOptions | undefined;
  readonly stickyMaxKeys: number;
  readonly ewmaDecay: number;
}

function positive(field: string, v: unknown, max = 30 * 24 * 3600e3): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0 || v > max)
    throw invalidArgument(PKG, field, `must be a number in (0, ${max}], got ${String(v)}`);
  return v;
}

export function resolveBalancerOptions(options: BalancerOptions): ResolvedBalancerOptions {
  if (typeof options !== 'object' || options === null)
    throw invalidArgument(PKG, 'options', 'must be an object');
  if (typeof options.discovery?.watch !== 'function')
    throw invalidArgument(PKG, 'discovery', 'must have a watch(service, options) method');
  const service = assertServiceName(PKG, 'service', options.service);
  if (options.picker !== undefined) assertFunction(PKG, 'picker', options.picker);
  if (options.random !== undefined) assertFunction(PKG, 'random', options.random);
  const panicThreshold = options.panicThreshold ?? 0.5;
  if (typeof panicThreshold !== 'number' || !(panicThreshold >= 0 && panicThreshold <= 1))
    throw invalidArgument(PKG, 'panicThreshold', `must be a number in 0..1, got ${String(panicThreshold)}`);
  const op = options.locality?.overprovisioning;
  if (op !== undefined) positive('locality.overprovisioning', op, 100);
  const od = options.outlierDetection === false ? undefined : (options.outlierDetection ?? {});
  const outlier = od && {
    consecutiveFailures: positive('outlierDetection.consecutiveFailures', od.consecutiveFailures ?? 5, 1e9),
    baseEjectionTime: positive('outlierDetection.baseEjectionTime', od.baseEjectionTime ?? 30_000),
    maxEjectionTime: positive('outlierDetection.maxEjectionTime', od.maxEjectionTime ?? 300_000),
    maxEjectionPercent: positive('outlierDetection.maxEjectionPercent', od.maxEjectionPercent ?? 10, 100),
  };
  const ss = options.slowStart === false || options.slowStart === undefined ? undefined : options.slowStart;
  const slowStart = ss && {
    window: positive('slowStart.window', ss.window ?? 30_000),
    aggression: positive('slowStart.aggression', ss.aggression ?? 1, 100),
    minWeightPercent: positive('slowStart.minWeightPercent', ss.minWeightPercent ?? 10, 100),
  };
  const sticky = options.sticky;
  const stickyMaxKeys =
    sticky === undefined || sticky === false
      ? 0
      : positive('sticky.maxKeys', sticky === true ? 100_000 : (sticky.maxKeys ?? 100_000), 1e8);
  return {
    service,
    clock: options.clock ?? systemClock,
    random: options.random ?? Math.random,
    panicThreshold,
    breaker: options.breaker === false ? undefined : resolveBreakerOptions('breaker', options.breaker ?? {}),
    serviceBreaker:
      options.serviceBreaker === false || options.serviceBreaker === undefined
        ? undefined
        : resolveBreakerOptions('serviceBreaker', options.serviceBreaker),
    outlier,
    slowStart,
    stickyMaxKeys,
    ewmaDecay: positive('ewmaDecay', options.ewmaDecay ?? 10_000),
  };
}

import type {
  Backoff,
  BackoffOptions,
  Clock,
  InstanceFilter,
  PickerBuilder,
  TrafficRulesSource,
} from '@switchyard/core';
import { assertServiceName, invalidArgument, systemClock, validateFilter } from '@switchyard/core';
import { clampedRandom, type Option, opt, parseOptions, type WatchSource } from '@switchyard/core/driver';
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

/** Anything with a discovery `watch` (a backend, a discovery client): core's driver-kit type. */
export type { WatchSource };

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
  /**
   * Where instances come from: a discovery client (it applies the pull-outs of its own rules), a
   * discovery backend (wrapped in a discovery client owned by the balancer when `rules` is given,
   * so pull-outs are applied there too), or any `watch` source (then `rules` is rejected).
   */
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
  /**
   * Live traffic rules. The balancer applies their routes (weighted groups, canary); their
   * pull-outs are the discovery client's (see `discovery`): give a client the same source.
   */
  rules?: TrafficRulesSource;
  /** This caller's IP, for canary allow-lists (a pick context `callerIp` overrides it). */
  callerIp?: string;
  /** Peak-EWMA decay time constant, ms. Default 10 000 (Finagle). */
  ewmaDecay?: number;
  /** Backoff between watch restarts. */
  watchBackoff?: BackoffOptions;
}

export interface ResolvedBalancerOptions {
  readonly discovery: WatchSource;
  readonly service: string;
  readonly picker: PickerBuilder | undefined;
  readonly filter: InstanceFilter | undefined;
  readonly clock: Clock;
  /** The injected random source clamped into [0, 1) (a source returning 1 or NaN cannot break a pick). */
  readonly random: () => number;
  /** The injected source itself (undefined: `Math.random`), handed to pickers, which draw integers. */
  readonly pickerRandom: (() => number) | undefined;
  readonly locality: LocalityOptions | undefined;
  readonly panicThreshold: number;
  readonly breaker: ResolvedBreakerOptions | undefined;
  readonly serviceBreaker: ResolvedBreakerOptions | undefined;
  readonly outlier: ResolvedOutlierOptions | undefined;
  readonly slowStart: ResolvedSlowStartOptions | undefined;
  readonly adaptiveThrottle: AdaptiveThrottleOptions | undefined;
  readonly retryBudget: RetryBudgetOptions | undefined;
  readonly stickyMaxKeys: number;
  readonly rules: TrafficRulesSource | undefined;
  readonly callerIp: string | undefined;
  readonly ewmaDecay: number;
  readonly watchBackoff: Backoff;
}

/** `false`, or the nested options object checked by `option`. */
function orFalse<T>(option: Option<T>): Option<T | false | undefined> {
  return opt.custom((v, at) => (v === false ? false : option.parse(v, at)));
}

const positiveNumber = (max: number) =>
  opt.number(0, max).refine((v, at) => {
    if (v <= 0) throw invalidArgument(at.pkg, at.field, `must be > 0, got ${v}`);
  });

const BREAKER = opt.object({
  consecutiveFailures: opt.integer(0, 1e9),
  failureRate: positiveNumber(1),
  minimumRequests: opt.integer(1, 1e9),
  window: opt.duration(),
  openDuration: opt.duration(),
  maxOpenDuration: opt.duration(),
  halfOpenProbes: opt.integer(1, 1e6),
});

const SCHEMA = {
  discovery: opt
    .instance<WatchSource>(
      (v) => typeof (v as Partial<WatchSource> | null)?.watch === 'function',
      'a discovery client or backend (with a watch(service, options) method)',
    )
    .required(),
  service: opt.custom((v, at) => assertServiceName(at.pkg, at.field, v)).required(),
  picker: opt.func<PickerBuilder>(),
  filter: opt.custom((v, at) => validateFilter(at.pkg, v as InstanceFilter, ['where'])),
  clock: opt.clock().default(systemClock),
  random: opt.func<() => number>(),
  locality: opt.object({
    zone: opt.string({ maxLength: 253 }),
    region: opt.string({ maxLength: 253 }),
    overprovisioning: positiveNumber(100),
  }),
  panicThreshold: opt.number(0, 1).default(0.5),
  breaker: orFalse(BREAKER),
  serviceBreaker: orFalse(BREAKER),
  outlierDetection: orFalse(
    opt.object({
      consecutiveFailures: opt.integer(1, 1e9),
      baseEjectionTime: opt.duration(),
      maxEjectionTime: opt.duration(),
      maxEjectionPercent: positiveNumber(100),
    }),
  ),
  slowStart: orFalse(
    opt.object({
      window: opt.duration(),
      aggression: positiveNumber(100),
      minWeightPercent: positiveNumber(100),
    }),
  ),
  adaptiveThrottle: orFalse(
    opt.object({
      k: opt.number(1, 100),
      window: opt.duration({ max: 3600e3 }),
      protection: opt.number(0, 1e9),
    }),
  ),
  retryBudget: orFalse(
    opt.object({
      mode: opt.oneOf(['tokens', 'concurrency'] as const),
      ratio: opt.number(0, 1000),
      minRetriesPerSecond: opt.number(0, 1e9),
      window: opt.duration({ max: 3600e3 }),
      minConcurrency: opt.number(0, 1e9),
      clock: opt.clock(),
    }),
  ),
  sticky: opt.custom((v, at) => {
    if (typeof v === 'boolean') return v ? 100_000 : 0;
    const o = parseOptions(at.pkg, v, { maxKeys: opt.integer(1, 1e8).default(100_000) }, at.field);
    return o.maxKeys;
  }),
  rules: opt.instance<TrafficRulesSource>((v) => {
    const r = v as Partial<TrafficRulesSource> | null;
    return (
      typeof r === 'object' &&
      r !== null &&
      typeof r.current === 'function' &&
      typeof r.subscribe === 'function'
    );
  }, 'a TrafficRulesSource (current, subscribe)'),
  callerIp: opt.string({ maxLength: 253 }),
  ewmaDecay: opt.duration().default(10_000),
  watchBackoff: opt.backoff({ base: 100, max: 10_000 }),
};

/**
 * Checks every option synchronously (INVALID_ARGUMENT naming the field, `watchBackoff.base`,
 * unknown keys with the nearest valid name) and fills the defaults.
 */
export function resolveBalancerOptions(options: BalancerOptions): ResolvedBalancerOptions {
  const o = parseOptions(PKG, options, SCHEMA);
  const od: OutlierDetectionOptions | undefined =
    o.outlierDetection === false ? undefined : (o.outlierDetection ?? {});
  const ss = o.slowStart === false ? undefined : o.slowStart;
  const breaker = o.breaker === false ? undefined : resolveBreakerOptions('breaker', o.breaker ?? {});
  const serviceBreaker =
    o.serviceBreaker === false || o.serviceBreaker === undefined
      ? undefined
      : resolveBreakerOptions('serviceBreaker', o.serviceBreaker);
  return {
    discovery: o.discovery,
    service: o.service,
    picker: o.picker,
    filter: o.filter,
    clock: o.clock,
    random: o.random ? clampedRandom(o.random) : Math.random,
    pickerRandom: o.random,
    locality: o.locality && stripUndefined(o.locality),
    panicThreshold: o.panicThreshold,
    breaker,
    serviceBreaker,
    outlier: od && {
      consecutiveFailures: od.consecutiveFailures ?? 5,
      baseEjectionTime: od.baseEjectionTime ?? 30_000,
      maxEjectionTime: od.maxEjectionTime ?? 300_000,
      maxEjectionPercent: od.maxEjectionPercent ?? 10,
    },
    slowStart: ss && {
      window: ss.window ?? 30_000,
      aggression: ss.aggression ?? 1,
      minWeightPercent: ss.minWeightPercent ?? 10,
    },
    adaptiveThrottle:
      o.adaptiveThrottle === false ? undefined : o.adaptiveThrottle && stripUndefined(o.adaptiveThrottle),
    retryBudget: o.retryBudget === false ? undefined : stripUndefined(o.retryBudget ?? {}),
    stickyMaxKeys: o.sticky ?? 0,
    rules: o.rules,
    callerIp: o.callerIp,
    ewmaDecay: o.ewmaDecay,
    watchBackoff: o.watchBackoff,
  };
}

function stripUndefined<T extends object>(o: T): { [K in keyof T]: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as never;
}

import { SwitchyardError } from '../errors.js';
import { type Clock, systemClock } from '../primitives/clock.js';

/** What a client library's connection pool calls around each request (cockatiel's `IPolicy.execute`). */
export interface CallPolicy {
  execute<T>(fn: (context: unknown) => Promise<T> | T): Promise<T>;
}

export interface HostBreakerOptions {
  /** Which failures count against the host (connection-level ones). */
  isFailure(error: unknown): boolean;
  /**
   * Failures that open the breaker at once (a call that hung until its deadline: the host is
   * frozen or partitioned, and every call sent to it costs a whole deadline).
   */
  isSevere?(error: unknown): boolean;
  /** Consecutive failures that open the breaker (default 3). */
  threshold?: number;
  /** How long an open host is skipped before it is tried again, ms (default 500). */
  halfOpenAfter?: number;
  clock?: Clock;
  /** Message prefix of the error thrown while the host is skipped. */
  pkg: string;
}

/**
 * A per-host circuit breaker for a client library's connection pool (etcd3's `faultHandling.host`):
 * after `threshold` consecutive host failures the host is skipped for `halfOpenAfter` ms, then tried
 * again. Libraries' defaults (etcd3: 5 s) turn a one-second blip into seconds of refused calls, and
 * count a call whose own deadline ran out against every healthy host it is retried on.
 */
export function hostBreaker(options: HostBreakerOptions): CallPolicy {
  return breakerFor(options, undefined);
}

/**
 * Per-host breakers of one pool that know about each other (pass the result as etcd3's
 * `faultHandling.host`): while every host of the pool is open, calls go through anyway (Envoy's
 * panic routing). A cluster-wide blip such as a leader election makes every member fail a few calls
 * at once; skipping them all would refuse every call for `halfOpenAfter` ms even though the cluster
 * answers again long before that. A pool of one host keeps plain skipping (fail fast in an outage).
 */
export function hostBreakers(options: HostBreakerOptions): () => CallPolicy {
  const pool: BreakerState[] = [];
  return () => breakerFor(options, pool);
}

interface BreakerState {
  failures: number;
  openUntil: number;
}

function breakerFor(options: HostBreakerOptions, pool: BreakerState[] | undefined): CallPolicy {
  const threshold = options.threshold ?? 3;
  const halfOpenAfter = options.halfOpenAfter ?? 500;
  const clock = options.clock ?? systemClock;
  const state: BreakerState = { failures: 0, openUntil: 0 };
  pool?.push(state);
  const isOpen = (s: BreakerState, now: number) => s.failures >= threshold && now < s.openUntil;
  const skip = (): boolean => {
    const now = clock.monotonic();
    if (!isOpen(state, now)) return false;
    if (pool === undefined || pool.length < 2) return true;
    return !pool.every((s) => isOpen(s, now));
  };
  return {
    async execute(fn) {
      if (skip()) {
        throw new SwitchyardError(
          'BACKEND_UNAVAILABLE',
          `[${options.pkg}] host skipped: circuit open after ${state.failures} failures`,
          {
            details: { hostSkipped: true },
          },
        );
      }
      try {
        const result = await fn(undefined);
        state.failures = 0;
        return result;
      } catch (error) {
        if (options.isSevere?.(error)) {
          state.failures = Math.max(state.failures + 1, threshold);
          state.openUntil = clock.monotonic() + halfOpenAfter;
        } else if (options.isFailure(error)) {
          state.failures++;
          if (state.failures >= threshold) state.openUntil = clock.monotonic() + halfOpenAfter;
        }
        throw error;
      }
    },
  };
}

/** Whether an error is the one a `hostBreaker` throws for a skipped host. */
export function isHostSkipped(error: unknown): boolean {
  return error instanceof SwitchyardError && error.details?.['hostSkipped'] === true;
}

export interface RetryPolicyOptions {
  /** Most tries in all (the first one included). */
  attempts: number;
  isRetryable(error: unknown): boolean;
  /**
   * Pause before try `n + 1` after try `n` failed, ms (default none). etcd's Go client waits 25 ms
   * between retries so that a leader election (every member answers "leader changed" for a moment)
   * is ridden out instead of failing three immediate tries.
   */
  delay?: (attempt: number) => number;
  /** No retry starts later than this many ms after the first try (default unbounded). */
  budget?: number;
  clock?: Clock;
}

/**
 * A retry policy for a pool's calls (etcd3's `faultHandling.global`): up to `attempts` tries while
 * `isRetryable` says so; each try goes to the pool's next host.
 */
export function retryPolicy(options: RetryPolicyOptions): CallPolicy {
  const clock = options.clock ?? systemClock;
  return {
    async execute(fn) {
      const started = clock.monotonic();
      for (let attempt = 1; ; attempt++) {
        try {
          return await fn(undefined);
        } catch (error) {
          if (attempt >= options.attempts || !options.isRetryable(error)) throw error;
          const pause = options.delay?.(attempt) ?? 0;
          if (options.budget !== undefined && clock.monotonic() - started + pause >= options.budget)
            throw error;
          if (pause > 0) await new Promise<void>((resolve) => clock.setTimeout(resolve, pause));
        }
      }
    },
  };
}

export interface PoolFaultHandlingOptions {
  pkg: string;
  clock?: Clock;
  /** The client library's own test for a failure worth another host (etcd3's `isRecoverableError`). */
  isRecoverable(error: unknown): boolean;
  /**
   * Retries pause 25 ms, doubling to at most 200 ms, and none starts later than this many ms after
   * the first try (the whole call's deadline). Omitted: three immediate tries.
   */
  requestTimeout?: number;
}

/**
 * The fault handling of a client pool this toolkit creates (etcd3's `faultHandling`): pooled
 * per-host breakers (a failing host is skipped for 500 ms unless every host is, `hostBreakers`) and
 * retries of recoverable errors on the next host. With `requestTimeout`, retries pause like etcd's
 * Go client (25 ms) so that a leader election, during which every member answers "leader changed"
 * for a moment, is ridden out instead of failing three immediate tries.
 */
export function poolFaultHandling(options: PoolFaultHandlingOptions): {
  host: () => CallPolicy;
  global: CallPolicy;
} {
  const { pkg, clock, isRecoverable, requestTimeout } = options;
  return {
    host: hostBreakers({ pkg, ...(clock ? { clock } : {}), isFailure: isRecoverable }),
    global:
      requestTimeout === undefined
        ? retryPolicy({ attempts: 3, isRetryable: isRecoverable })
        : retryPolicy({
            attempts: 12,
            ...(clock ? { clock } : {}),
            budget: requestTimeout,
            delay: (attempt) => Math.min(200, 25 * 2 ** (attempt - 1)),
            isRetryable: (error) => isRecoverable(error) || isHostSkipped(error),
          }),
  };
}

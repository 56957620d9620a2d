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
  const threshold = options.threshold ?? 3;
  const halfOpenAfter = options.halfOpenAfter ?? 500;
  const clock = options.clock ?? systemClock;
  let failures = 0;
  let openUntil = 0;
  return {
    async execute(fn) {
      if (failures >= threshold && clock.monotonic() < openUntil) {
        throw new SwitchyardError(
          'BACKEND_UNAVAILABLE',
          `[${options.pkg}] host skipped: circuit open after ${failures} failures`,
          {
            details: { hostSkipped: true },
          },
        );
      }
      try {
        const result = await fn(undefined);
        failures = 0;
        return result;
      } catch (error) {
        if (options.isSevere?.(error)) {
          failures = Math.max(failures + 1, threshold);
          openUntil = clock.monotonic() + halfOpenAfter;
        } else if (options.isFailure(error)) {
          failures++;
          if (failures >= threshold) openUntil = clock.monotonic() + halfOpenAfter;
        }
        throw error;
      }
    },
  };
}

/**
 * A retry policy for a pool's calls (etcd3's `faultHandling.global`): up to `attempts` tries while
 * `isRetryable` says so; each try goes to the pool's next host.
 */
export function retryPolicy(options: { attempts: number; isRetryable(error: unknown): boolean }): CallPolicy {
  return {
    async execute(fn) {
      for (let attempt = 1; ; attempt++) {
        try {
          return await fn(undefined);
        } catch (error) {
          if (attempt >= options.attempts || !options.isRetryable(error)) throw error;
        }
      }
    },
  };
}

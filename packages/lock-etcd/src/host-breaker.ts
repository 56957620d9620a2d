import { isRecoverableError } from 'etcd3';

/** The part of a cockatiel policy that etcd3's connection pool calls. */
interface HostPolicy {
  execute<T>(fn: () => Promise<T> | T): Promise<T>;
}

/**
 * Per-host circuit breaker for clients this package creates: after `threshold` consecutive
 * connection-level failures the host is skipped for `halfOpenAfter` ms, then tried again.
 * etcd3's default opens for 5 s, which turns a 1 s blip of a single-member cluster into 5 s of
 * refused calls; locks want to come back as soon as the member does.
 */
export function hostBreaker(halfOpenAfter = 500, threshold = 3): HostPolicy {
  let failures = 0;
  let openUntil = 0;
  return {
    async execute<T>(fn: () => Promise<T> | T): Promise<T> {
      if (failures >= threshold && Date.now() < openUntil) {
        throw new Error('[lock-etcd] etcd host skipped: circuit open after repeated failures');
      }
      try {
        const result = await fn();
        failures = 0;
        return result;
      } catch (error) {
        if (error instanceof Error && isRecoverableError(error)) {
          failures++;
          if (failures >= threshold) openUntil = Date.now() + halfOpenAfter;
        }
        throw error;
      }
    },
  };
}

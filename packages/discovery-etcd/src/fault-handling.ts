import type { Clock } from '@switchyard/core';
import { type CallPolicy, hostBreaker, retryPolicy } from '@switchyard/core/driver';
import { GRPCDeadlineExceededError, isRecoverableError } from 'etcd3';

/**
 * Fault handling for clients this package creates. A call whose deadline ran out (on a dead or
 * frozen member) makes the pool skip that member for 500 ms and is not retried: its deadline is spent, so a
 * retry would fail at once with DEADLINE_EXCEEDED and open the breakers of the healthy members it
 * lands on (etcd3's default retries it three times). Connection failures move the call to the next
 * member, and a failing member is skipped for 500 ms (etcd3: 5 s).
 */
export function etcdFaultHandling(clock: Clock, pkg: string): { host: () => CallPolicy; global: CallPolicy } {
  const recoverable = (error: unknown) => error instanceof Error && isRecoverableError(error);
  const deadline = (error: unknown) => error instanceof GRPCDeadlineExceededError;
  return {
    host: () => hostBreaker({ pkg, clock, isFailure: recoverable, isSevere: deadline }),
    global: retryPolicy({
      attempts: 3,
      isRetryable: (error) => recoverable(error) && !(error instanceof GRPCDeadlineExceededError),
    }),
  };
}

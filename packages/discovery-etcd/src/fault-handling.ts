import type { Clock } from '@switchyard/core';
import { type CallPolicy, hostBreaker, retryPolicy } from '@switchyard/core/driver';
import { isRecoverableError } from 'etcd3';

/**
 * Fault handling for clients this package creates (whose call-options factory gives every attempt
 * its own deadline). A call that hung until its attempt deadline (a dead or frozen member) makes the
 * pool skip that member for 500 ms and is retried on the next one with a fresh deadline; connection
 * failures move the call to the next member too, and a failing member is skipped for 500 ms
 * (etcd3: 5 s). With etcd3's defaults one absolute deadline was shared by every retry, so the retries
 * failed at once with DEADLINE_EXCEEDED and opened the breakers of the healthy members.
 */
export function etcdFaultHandling(clock: Clock, pkg: string): { host: () => CallPolicy; global: CallPolicy } {
  const recoverable = (error: unknown) => error instanceof Error && isRecoverableError(error);
  return {
    host: () => hostBreaker({ pkg, clock, isFailure: recoverable }),
    global: retryPolicy({
      attempts: 3,
      isRetryable: recoverable,
    }),
  };
}

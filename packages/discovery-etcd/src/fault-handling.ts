import type { Clock } from '@switchyard/core';
import { type CallPolicy, poolFaultHandling } from '@switchyard/core/driver';
import { isRecoverableError } from 'etcd3';

/**
 * Fault handling for clients this package creates (whose call-options factory gives every attempt
 * its own deadline). A call that hung until its attempt deadline (a dead or frozen member) makes the
 * pool skip that member for 500 ms and is retried on the next one with a fresh deadline; connection
 * failures move the call to the next member too, and a failing member is skipped for 500 ms
 * (etcd3: 5 s), unless every member is skipped (a leader election makes all of them fail a few
 * calls): then calls go through anyway, Envoy's panic routing. With etcd3's defaults one absolute
 * deadline was shared by every retry, so the retries failed at once with DEADLINE_EXCEEDED and
 * opened the breakers of the healthy members. Retries pause 25–200 ms within `requestTimeout`.
 */
export function etcdFaultHandling(
  clock: Clock,
  pkg: string,
  requestTimeout: number,
): { host: () => CallPolicy; global: CallPolicy } {
  return poolFaultHandling({
    pkg,
    clock,
    requestTimeout,
    isRecoverable: (error) => error instanceof Error && isRecoverableError(error),
  });
}

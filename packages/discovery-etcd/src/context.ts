import type { Backoff, Clock } from '@switchyard/core';
import type { Etcd3 } from 'etcd3';
import type { InstanceCodec } from './instance-codec.js';

export const PKG = 'discovery-etcd';

/** What registrations and watches share with the backend that created them. */
export interface EtcdDiscoveryContext {
  readonly client: Etcd3;
  readonly codec: InstanceCodec;
  readonly clock: Clock;
  /** Deadline for one unary etcd call, in ms. */
  readonly requestTimeout: number;
  /** Delay before re-establishing a broken watch (attempt starts at 0). */
  readonly backoff: Backoff;
}

/** gRPC call options with a deadline `ms` from now. */
export function deadline(ms: number): { deadline: Date } {
  return { deadline: new Date(Date.now() + ms) };
}

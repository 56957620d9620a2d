import {
  assertDuration,
  assertKey,
  assertNonEmptyString,
  type Clock,
  invalidArgument,
  systemClock,
} from '@switchyard/core';
import { Etcd3, type IOptions } from 'etcd3';
import { PKG } from './constants.js';
import { hostBreaker } from './host-breaker.js';

export interface EtcdLockOptions {
  /** An existing etcd3 client; it is not closed by `close()`. Give either `client` or `hosts`. */
  client?: Etcd3;
  /** etcd endpoints for a client created (and closed) by the lock, e.g. `http://127.0.0.1:2379`. */
  hosts?: string | string[];
  /** Extra options for the created client (ignored with `client`). */
  clientOptions?: Omit<IOptions, 'hosts'>;
  /** Key prefix under which all lock queues live (default `switchyard/lock`). */
  prefix?: string;
  /**
   * Default lease TTL in ms (default 10 000). etcd leases are whole seconds: the session lease is
   * granted for `ceil(ttl / 1000)` s (etcd may raise it to its minimum, about 1.5 × election timeout).
   */
  ttl?: number;
  /** Deadline of every etcd call in ms (default 5000). */
  requestTimeout?: number;
  /** Fallback re-check period for waiters in ms (default 5000, jittered ±20 %). Watches wake them first. */
  pollInterval?: number;
  /** Same owner may re-acquire a held key; release counts down (default false). */
  reentrant?: boolean;
  clock?: Clock;
}

export interface ResolvedOptions {
  client: Etcd3;
  ownsClient: boolean;
  prefix: string;
  ttl: number;
  requestTimeout: number;
  pollInterval: number;
  reentrant: boolean;
  clock: Clock;
}

export function resolveOptions(options: EtcdLockOptions): ResolvedOptions {
  if (typeof options !== 'object' || options === null) {
    throw invalidArgument(PKG, 'options', 'must be an object');
  }
  const { client, hosts } = options;
  if (client !== undefined && hosts !== undefined) {
    throw invalidArgument(PKG, 'hosts', 'must not be given together with client');
  }
  if (client === undefined && hosts === undefined) {
    throw invalidArgument(PKG, 'client', 'or hosts is required');
  }
  if (client !== undefined && !(client instanceof Etcd3)) {
    throw invalidArgument(PKG, 'client', 'must be an etcd3 Etcd3 instance');
  }
  if (hosts !== undefined) {
    const list = Array.isArray(hosts) ? hosts : [hosts];
    if (list.length === 0) throw invalidArgument(PKG, 'hosts', 'must not be empty');
    list.forEach((h, i) => assertNonEmptyString(PKG, `hosts[${i}]`, h));
  }
  const prefix = assertKey(PKG, 'prefix', options.prefix ?? 'switchyard/lock', 256);
  if (prefix.endsWith('/')) throw invalidArgument(PKG, 'prefix', 'must not end with "/"');
  const resolved: ResolvedOptions = {
    client:
      client ??
      new Etcd3({
        ...options.clientOptions,
        faultHandling: {
          host: () => hostBreaker() as never,
          ...options.clientOptions?.faultHandling,
        },
        hosts: hosts as string | string[],
      }),
    ownsClient: client === undefined,
    prefix,
    ttl: assertTtl(options.ttl ?? 10_000),
    requestTimeout: assertDuration(PKG, 'requestTimeout', options.requestTimeout ?? 5000),
    pollInterval: assertDuration(PKG, 'pollInterval', options.pollInterval ?? 5000, { min: 10 }),
    reentrant: options.reentrant ?? false,
    clock: options.clock ?? systemClock,
  };
  return resolved;
}

/** TTL in ms: > 0 and at most 30 days. */
export function assertTtl(value: unknown, field = 'ttl'): number {
  return assertDuration(PKG, field, value);
}

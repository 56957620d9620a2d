import type { KitLock } from '@switchyard/core';
import {
  defineLock,
  KEY_PREFIX,
  type LockCommonOptions,
  type LockKitOptions,
  type LockRequest,
  lockOptions,
  parseOptions,
} from '@switchyard/core/driver';
import type { Etcd3, IOptions } from 'etcd3';
import { PKG } from './constants.js';
import { connect, connectionSchema, prefixOption } from './etcd-connection.js';
import { EtcdLockDriver } from './etcd-lock-driver.js';

/** Options every etcd lock kind takes (see the README's table; the rest is core's `LockCommonOptions`). */
export interface EtcdLockCommonOptions extends LockCommonOptions {
  /** An existing etcd3 client; not closed by `close()`. Give either `client` or `hosts`. */
  client?: Etcd3;
  /** etcd endpoints for a client created (and closed) by the lock, e.g. `http://127.0.0.1:2379`. */
  hosts?: string | string[];
  /** Extra etcd3 options for the client created from `hosts` (not with `client`). */
  clientOptions?: Omit<IOptions, 'hosts'>;
  /** Key prefix; a lock's queue lives under `<prefix>/<encoded key>/` (default `/switchyard/locks`). */
  prefix?: string;
  /**
   * Default lease TTL, ms (default 30 000). The lease is valid for exactly this long; the etcd lease
   * behind it is whole seconds (`ceil(ttl / 1000)`, raised by etcd to its minimum), which bounds how
   * long a crashed holder blocks the lock.
   */
  ttl?: number;
  /** Upper bound of the jittered fallback poll while waiting for a watch event, ms (default 1 000). */
  pollInterval?: number;
}

export type EtcdLockOptions = EtcdLockCommonOptions;

/** A lock object: the contract, the operator API, and the client in use (never hidden). */
export interface EtcdLock extends KitLock {
  /** The etcd3 client in use (yours if you passed one). */
  readonly client: Etcd3;
  /** The normalised key prefix (no trailing `/`). */
  readonly prefix: string;
}

/** The schema every etcd kind parses (plus its own options). */
export function commonSchema(defaultPrefix: string) {
  return {
    ...lockOptions({ pollInterval: 1_000 }),
    ...connectionSchema,
    prefix: prefixOption(defaultPrefix),
  };
}

type Common = Omit<LockKitOptions, 'pkg' | 'backoff'>;

/** Builds a kind: the driver for `permits` holders per key, on the layer. */
export function buildEtcdLock(
  o: Common & {
    client?: Etcd3 | undefined;
    hosts?: string[] | undefined;
    clientOptions?: Omit<IOptions, 'hosts'> | undefined;
    prefix: string;
  },
  kind: { name: string; permits: number; fair: boolean; storedValue?: (req: LockRequest) => string },
): { lock: KitLock; driver: EtcdLockDriver; client: Etcd3 } {
  const conn = connect(o, o.clock);
  const driver = new EtcdLockDriver({
    name: kind.name,
    capabilities: Object.freeze({
      fair: kind.fair,
      reentrant: o.reentrant,
      ttlGranularity: 'milliseconds',
      notifications: true,
    }),
    client: conn.client,
    closeClient: conn.close,
    prefix: o.prefix,
    permits: kind.permits,
    clock: o.clock,
    requestTimeout: o.requestTimeout,
    ...(kind.storedValue ? { storedValue: kind.storedValue } : {}),
  });
  const lock = defineLock(driver, {
    pkg: PKG,
    clock: o.clock,
    ttl: o.ttl,
    wait: o.wait,
    requestTimeout: o.requestTimeout,
    pollInterval: o.pollInterval,
    unavailableAfter: o.unavailableAfter,
    drift: o.drift,
    reentrant: o.reentrant,
    onListenerError: o.onListenerError,
  });
  return { lock, driver, client: conn.client };
}

/**
 * A fair, fenced mutex on etcd. Contenders queue as keys under `<prefix>/<key>/` on a shared
 * session lease; the oldest key (lowest create revision) holds the lock and its create revision is
 * the fencing token; each waiter watches only its predecessor's deletion.
 */
export function createEtcdLock(options: EtcdLockOptions): EtcdLock {
  const o = parseOptions(PKG, options, commonSchema(KEY_PREFIX.etcd.locks));
  const { lock, client } = buildEtcdLock(o, { name: 'etcd', permits: 1, fair: true });
  return { ...lock, client, prefix: o.prefix };
}

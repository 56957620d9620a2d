import type { Clock, KitLock, ListenerErrorHandler } from '@switchyard/core';
import {
  defineLock,
  KEY_PREFIX,
  type LockKitOptions,
  lockOptions,
  opt,
  parseOptions,
} from '@switchyard/core/driver';
import type { RedisOptions } from 'ioredis';
import { KeyLayout } from './key-layout.js';
import type { RedisClient } from './lua-script.js';
import { mutexKind } from './mutex-kind.js';
import { connect, connectionSchema, PKG, prefixOption } from './redis-connection.js';
import { redisLockDriver } from './redis-lock-driver.js';

/** Options every single-Redis lock kind takes (see the README's table). */
export interface RedisLockCommonOptions {
  /** An existing ioredis client (single node or Cluster); not closed by `close()`. */
  client?: RedisClient;
  /** Or a `redis://` URL to connect to (the connection is closed by `close()`). */
  url?: string;
  /** ioredis options when connecting from `url`. */
  redisOptions?: RedisOptions;
  /** Key prefix; a lock's keys are `<prefix>{<key>}:…` (one hash tag per lock, Cluster-safe). */
  prefix?: string;
  /** Default lease TTL, ms (default 30 000). */
  ttl?: number;
  /** Default wait for a held lock, ms (default `Infinity`: until `signal` fires). */
  wait?: number;
  /** Deadline of one Redis call, ms (default 5 000). */
  requestTimeout?: number;
  /** Upper bound of the jittered fallback poll while waiting, ms (default 500). */
  pollInterval?: number;
  /** A wait that finds Redis unreachable for this long rejects with `BACKEND_UNAVAILABLE`, ms (default 10 000). */
  unavailableAfter?: number;
  /** Safety margin subtracted from a lease's validity, ms (default 1 % of ttl + 2). */
  drift?: number;
  /** The same owner may re-acquire a key it holds in this client; releases count down (default false). */
  reentrant?: boolean;
  /** A waiter's queue place (and a hand-off to it) lapses this long after its last refresh, ms (default 5 000). */
  queueLease?: number;
  clock?: Clock;
  /** Where a throwing `lease:lost` listener's error goes (default: a process warning). */
  onListenerError?: ListenerErrorHandler;
}

export interface RedisLockOptions extends RedisLockCommonOptions {
  /** Strict FIFO: only the first waiter may take a free lock (default false: hand-off FIFO, barging on a free lock). */
  fair?: boolean;
}

/** A lock object: the contract, the operator API, and the client in use (never hidden). */
export interface RedisLock extends KitLock {
  readonly client: RedisClient;
  readonly prefix: string;
}

/** The schema every single-Redis kind parses (plus its own options). */
export function commonSchema(defaultPrefix: string) {
  return {
    ...lockOptions(),
    ...connectionSchema,
    prefix: prefixOption(defaultPrefix),
    queueLease: opt.duration({ min: 50 }).default(5_000),
  };
}

/** Layer settings from parsed common options (a queued waiter refreshes its place well within the lease). */
export function kitOptions(
  o: Omit<LockKitOptions, 'pkg' | 'backoff'> & { queueLease: number },
): LockKitOptions {
  return {
    pkg: PKG,
    clock: o.clock,
    ttl: o.ttl,
    wait: o.wait,
    requestTimeout: o.requestTimeout,
    pollInterval: Math.min(o.pollInterval, o.queueLease / 3),
    unavailableAfter: o.unavailableAfter,
    drift: o.drift,
    reentrant: o.reentrant,
    onListenerError: o.onListenerError,
  };
}

/** A Redis mutex with fencing tokens: plain (hand-off to queued waiters) or fair (strict FIFO); reentrant on request. */
export function createRedisLock(options: RedisLockOptions): RedisLock {
  const o = parseOptions(PKG, options, {
    ...commonSchema(KEY_PREFIX.redis.locks),
    fair: opt.boolean().default(false),
  });
  const layout = new KeyLayout(PKG, o.prefix);
  const conn = connect(o);
  const driver = redisLockDriver({
    name: o.fair ? 'redis-fair' : 'redis',
    capabilities: Object.freeze({
      fair: o.fair,
      reentrant: o.reentrant,
      ttlGranularity: 'milliseconds',
      notifications: true,
    }),
    client: conn.client,
    closeClient: conn.close,
    layout,
    scripts: mutexKind(layout, o.fair),
    queueLease: o.queueLease,
    mode: o.fair ? 'all' : 'one',
    clock: o.clock,
    requestTimeout: o.requestTimeout,
    pkg: PKG,
  });
  return { ...defineLock(driver, kitOptions(o)), client: conn.client, prefix: layout.prefix };
}

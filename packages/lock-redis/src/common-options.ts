import { assertDuration, assertWait, type Clock, invalidArgument, systemClock } from '@switchyard/core';
import { Redis, type RedisOptions } from 'ioredis';
import { PKG } from './lock-engine.js';
import type { RedisClient } from './lua-script.js';

/** Options shared by every Redis lock kind. */
export interface RedisLockCommonOptions {
  /** An existing ioredis client (single node or Cluster). It is not closed by `close()`. */
  client?: RedisClient;
  /** Or a `redis://` URL to connect to (the connection is closed by `close()`). */
  url?: string;
  /** Extra ioredis options when connecting from `url`. */
  redisOptions?: RedisOptions;
  /** Key prefix; every lock's keys are `<prefix>{<key>}:…` (hash-tagged for Redis Cluster). */
  prefix?: string;
  /** Default lease TTL in ms (default 30 000). */
  ttl?: number;
  /** Default wait in ms (default `Infinity`: until `signal` fires). */
  wait?: number;
  /** Time limit of every Redis call, ms (default 2 000). A call without reply by then is `BACKEND_UNAVAILABLE`. */
  operationTimeout?: number;
  /** Upper bound of the fallback poll while waiting, ms (default 500; jittered ±25 %). */
  pollInterval?: number;
  /** Safety margin subtracted from a lease's validity, ms (default 1 % of ttl + 2). */
  drift?: number;
  /** Injectable clock (timers, monotonic time). */
  clock?: Clock;
}

export interface ResolvedCommon {
  client: RedisClient;
  ownsClient: boolean;
  clock: Clock;
  ttl: number;
  wait: number;
  operationTimeout: number;
  pollInterval: number;
  drift: number | undefined;
}

export function resolveCommon(options: RedisLockCommonOptions): ResolvedCommon {
  if (typeof options !== 'object' || options === null)
    throw invalidArgument(PKG, 'options', 'must be an object');
  const ttl = assertDuration(PKG, 'ttl', options.ttl ?? 30_000);
  const wait = assertWait(PKG, 'wait', options.wait ?? Number.POSITIVE_INFINITY);
  const operationTimeout = assertDuration(PKG, 'operationTimeout', options.operationTimeout ?? 2_000);
  const pollInterval = assertDuration(PKG, 'pollInterval', options.pollInterval ?? 500, { min: 1 });
  const drift =
    options.drift === undefined
      ? undefined
      : assertDuration(PKG, 'drift', options.drift, { allowZero: true });
  let client: RedisClient;
  let ownsClient = false;
  if (options.client !== undefined) {
    if (typeof options.client !== 'object' || typeof options.client.evalsha !== 'function') {
      throw invalidArgument(PKG, 'client', 'must be an ioredis client');
    }
    client = options.client;
  } else if (typeof options.url === 'string' && options.url.length > 0) {
    client = new Redis(options.url, { maxRetriesPerRequest: 1, ...options.redisOptions });
    client.on('error', () => {}); // surfaced as typed errors on each call
    ownsClient = true;
  } else {
    throw invalidArgument(PKG, 'client', 'or url is required');
  }
  return {
    client,
    ownsClient,
    clock: options.clock ?? systemClock,
    ttl,
    wait,
    operationTimeout,
    pollInterval,
    drift,
  };
}

import { assertKey } from '@switchyard/core';
import { callBackend, defineLock, KEY_PREFIX, opt, parseOptions } from '@switchyard/core/driver';
import { KeyLayout } from './key-layout.js';
import { inspectPermits, type PermitHolder, readPermits } from './permit-holders.js';
import { connect, PKG } from './redis-connection.js';
import { commonSchema, kitOptions, type RedisLock, type RedisLockCommonOptions } from './redis-lock.js';
import { type KindScripts, redisLockDriver } from './redis-lock-driver.js';
import {
  ABANDON_PERMIT,
  ACQUIRE_PERMIT,
  EXTEND_PERMIT,
  FORCE_RELEASE_PERMITS,
  RELEASE_PERMIT,
} from './semaphore-scripts.js';

export interface RedisSemaphoreOptions extends RedisLockCommonOptions {
  /** Number of permits per key (≥ 1). */
  permits: number;
}

export interface RedisSemaphore extends RedisLock {
  readonly permits: number;
  /** Live holders of `key` (owner, token, ttl left). */
  holders(key: string, options?: { signal?: AbortSignal }): Promise<PermitHolder[]>;
}

function semaphoreKind(layout: KeyLayout, permits: number): KindScripts {
  const { channel } = layout;
  const keys = (k: string) => [
    layout.holders(k),
    layout.holderMeta(k),
    layout.fence(k),
    layout.queue(k),
    layout.queueDeadlines(k),
    layout.queueMeta(k),
  ];
  return {
    listSuffix: 'holders',
    attempt: (c, req, lease) =>
      ACQUIRE_PERMIT.run(c, keys(req.key), [
        req.owner,
        req.id,
        Math.ceil(req.ttl),
        permits,
        lease,
        channel,
        req.key,
      ]),
    extend: (c, req, ttl) =>
      EXTEND_PERMIT.run(c, [layout.holders(req.key), layout.holderMeta(req.key)], [req.id, ttl]),
    release: (c, req, latchTtl, retry) =>
      RELEASE_PERMIT.run(
        c,
        [...keys(req.key), layout.latch(req.key, req.id)],
        [req.id, permits, channel, req.key, latchTtl, retry ? '1' : '0'],
      ),
    abandon: (c, req) => ABANDON_PERMIT.run(c, keys(req.key), [req.id, permits, channel, req.key]),
    inspect: (c, key) => inspectPermits(c, layout, key),
    forceRelease: (c, key) =>
      FORCE_RELEASE_PERMITS.run(c, keys(key), [permits, channel, key, layout.lostChannel]),
  };
}

/**
 * A counting semaphore: at most `permits` leases per key at once; each permit expires with its
 * holder's TTL (server time), is renewed by the lease watchdog and carries a fencing token. Waiters
 * are served first-come first-served (a freed permit is handed to the first queued waiter).
 * Single Redis only: there is deliberately no quorum (Redlock) semaphore, because one can over-admit.
 */
export function createRedisSemaphore(options: RedisSemaphoreOptions): RedisSemaphore {
  const o = parseOptions(PKG, options, {
    ...commonSchema(`${KEY_PREFIX.redis.locks}sem:`),
    permits: opt.integer(1, 1_000_000).required(),
  });
  const layout = new KeyLayout(PKG, o.prefix);
  const conn = connect(o);
  const driver = redisLockDriver({
    name: 'redis-semaphore',
    capabilities: Object.freeze({
      fair: true,
      reentrant: o.reentrant,
      ttlGranularity: 'milliseconds',
      notifications: true,
    }),
    client: conn.client,
    closeClient: conn.close,
    layout,
    scripts: semaphoreKind(layout, o.permits),
    queueLease: o.queueLease,
    mode: 'all',
    clock: o.clock,
    requestTimeout: o.requestTimeout,
    pkg: PKG,
  });
  const lock = defineLock(driver, kitOptions(o));
  return {
    ...lock,
    client: conn.client,
    prefix: layout.prefix,
    permits: o.permits,
    async holders(key, opts) {
      const { signal } = parseOptions(PKG, opts, { signal: opt.signal() });
      assertKey(PKG, 'key', key);
      const run = () => readPermits(conn.client, layout, key).then((r) => r.holders);
      return callBackend('holders', { pkg: PKG, clock: o.clock, timeout: o.requestTimeout, signal }, run);
    },
  };
}

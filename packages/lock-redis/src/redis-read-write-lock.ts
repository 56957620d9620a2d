import type { KitLock } from '@switchyard/core';
import { defineLock, KEY_PREFIX, parseOptions } from '@switchyard/core/driver';
import { KeyLayout } from './key-layout.js';
import type { RedisClient } from './lua-script.js';
import { inspectMutex, withoutHid } from './mutex-kind.js';
import { EXTEND_MUTEX } from './mutex-scripts.js';
import { inspectPermits } from './permit-holders.js';
import {
  ABANDON_READ,
  ABANDON_WRITE,
  ACQUIRE_READ,
  ACQUIRE_WRITE,
  FORCE_RELEASE_READ,
  FORCE_RELEASE_WRITE,
  RELEASE_READ,
  RELEASE_WRITE,
} from './read-write-scripts.js';
import { connect, PKG } from './redis-connection.js';
import { commonSchema, kitOptions, type RedisLockCommonOptions } from './redis-lock.js';
import { type KindScripts, redisLockDriver } from './redis-lock-driver.js';
import { EXTEND_PERMIT } from './semaphore-scripts.js';

export type RedisReadWriteLockOptions = RedisLockCommonOptions;

export interface RedisReadWriteLock extends AsyncDisposable {
  readonly client: RedisClient;
  readonly prefix: string;
  /** Shared side: many readers at once, none while a writer holds or waits. */
  readonly read: KitLock;
  /** Exclusive side: one writer, no readers; writers are served in arrival order. */
  readonly write: KitLock;
  /** Closes both sides (and the connection, when made from `url`). */
  close(): Promise<void>;
}

function sides(layout: KeyLayout): { read: KindScripts; write: KindScripts } {
  const { channel, lostChannel } = layout;
  const keys = (k: string) => [
    layout.lock(k),
    layout.fence(k),
    layout.holders(k),
    layout.holderMeta(k),
    layout.queue(k),
    layout.queueDeadlines(k),
    layout.queueMeta(k),
  ];
  const write: KindScripts = {
    listSuffix: 'lock',
    attempt: (c, req, lease) =>
      ACQUIRE_WRITE.run(c, keys(req.key), [req.owner, req.id, Math.ceil(req.ttl), lease, channel, req.key]),
    extend: (c, req, ttl) => EXTEND_MUTEX.run(c, [layout.lock(req.key)], [req.id, ttl]),
    release: (c, req, latchTtl, retry) =>
      RELEASE_WRITE.run(
        c,
        [...keys(req.key), layout.latch(req.key, req.id)],
        [req.id, channel, req.key, latchTtl, retry ? '1' : '0'],
      ),
    abandon: (c, req) => ABANDON_WRITE.run(c, keys(req.key), [req.id, channel, req.key]),
    inspect: (c, key) => inspectMutex(c, layout, key).then((i) => i && withoutHid(i)),
    forceRelease: (c, key) => FORCE_RELEASE_WRITE.run(c, keys(key), [channel, key, lostChannel]),
  };
  const read: KindScripts = {
    listSuffix: 'holders',
    attempt: (c, req) =>
      ACQUIRE_READ.run(c, keys(req.key), [req.owner, req.id, Math.ceil(req.ttl), channel, req.key]),
    extend: (c, req, ttl) =>
      EXTEND_PERMIT.run(c, [layout.holders(req.key), layout.holderMeta(req.key)], [req.id, ttl]),
    release: (c, req, latchTtl, retry) =>
      RELEASE_READ.run(
        c,
        [...keys(req.key), layout.latch(req.key, req.id)],
        [req.id, channel, req.key, latchTtl, retry ? '1' : '0'],
      ),
    abandon: (c, req) => ABANDON_READ.run(c, keys(req.key), [req.id, channel, req.key]),
    inspect: (c, key) => inspectPermits(c, layout, key),
    forceRelease: (c, key) => FORCE_RELEASE_READ.run(c, keys(key), [channel, key, lostChannel]),
  };
  return { read, write };
}

/**
 * Many readers or one writer per key. Writers queue FIFO and a queued writer blocks new readers,
 * so writers are not starved and the first waiting writer is never overtaken.
 */
export function createRedisReadWriteLock(options: RedisReadWriteLockOptions): RedisReadWriteLock {
  const o = parseOptions(PKG, options, commonSchema(`${KEY_PREFIX.redis.locks}rw:`));
  const layout = new KeyLayout(PKG, o.prefix);
  const conn = connect(o);
  const scripts = sides(layout);
  const side = (name: 'read' | 'write') =>
    defineLock(
      redisLockDriver({
        name: `redis-rw-${name}`,
        capabilities: Object.freeze({
          fair: name === 'write',
          reentrant: o.reentrant,
          ttlGranularity: 'milliseconds',
          notifications: true,
        }),
        client: conn.client,
        layout,
        scripts: scripts[name],
        queueLease: o.queueLease,
        mode: 'all',
        clock: o.clock,
        requestTimeout: o.requestTimeout,
        pkg: PKG,
      }),
      kitOptions(o),
    );
  const read = side('read');
  const write = side('write');
  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      await Promise.all([read.close(), write.close()]);
      await conn.close?.();
    })();
    return closing;
  };
  return { client: conn.client, prefix: layout.prefix, read, write, close, [Symbol.asyncDispose]: close };
}

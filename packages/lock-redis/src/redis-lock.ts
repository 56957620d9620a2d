import { assertDuration, type DistributedLock, type LockAdmin } from '@switchyard/core';
import { type RedisLockCommonOptions, resolveCommon } from './common-options.js';
import { KeyLayout } from './key-layout.js';
import { createLockAdmin } from './lock-admin.js';
import { LockEngine, PKG } from './lock-engine.js';
import type { RedisClient } from './lua-script.js';
import { mutexStrategy } from './mutex-strategy.js';

export interface RedisLockOptions extends RedisLockCommonOptions {
  /** FIFO order among waiters; a release hands the lock straight to the next waiter (default false). */
  fair?: boolean;
  /**
   * The same owner may re-acquire; releases count down (default false). The owner is the explicit
   * `owner` option, else the one set by `runWithLockOwner`, else a random id per acquire.
   */
  reentrant?: boolean;
  /** Fair locks: how long a waiter's queue place survives without a refresh, ms (default 5 000). */
  queueLease?: number;
}

export interface RedisLock extends DistributedLock, LockAdmin {
  /** The ioredis client in use (never hidden). */
  readonly client: RedisClient;
  readonly prefix: string;
}

/** A Redis mutex with fencing tokens: plain, fair (FIFO + hand-off) and/or reentrant. */
export function createRedisLock(options: RedisLockOptions): RedisLock {
  const common = resolveCommon(options);
  const fair = options.fair === true;
  const reentrant = options.reentrant === true;
  const queueLease = assertDuration(PKG, 'queueLease', options.queueLease ?? 5_000, { min: 50 });
  const layout = new KeyLayout(PKG, options.prefix ?? 'switchyard:lock:');
  const engine = new LockEngine({
    ...common,
    name: fair ? 'redis-fair' : 'redis',
    layout,
    strategy: mutexStrategy(fair),
    capabilities: Object.freeze({ fair, reentrant, ttlGranularity: 'milliseconds', notifications: true }),
    wakeMode: fair ? 'all' : 'one',
    // A queued waiter must refresh its place well before it lapses.
    pollInterval: Math.min(common.pollInterval, queueLease / 3),
    queueLease,
    reentrant,
    redisQueue: true,
  });
  const admin = createLockAdmin(engine);
  return {
    get name() {
      return engine.name;
    },
    capabilities: engine.capabilities,
    client: engine.client,
    prefix: layout.prefix,
    acquire: (key, o) => engine.acquire(key, o),
    tryAcquire: (key, o) => engine.tryAcquire(key, o),
    inspect: (key, o) => engine.inspect(key, o),
    close: () => engine.close(),
    [Symbol.asyncDispose]: () => engine.close(),
    ...admin,
  };
}

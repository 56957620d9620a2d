import type { LockStats } from '@switchyard/core';
import { assertInteger, assertKey, type DistributedLock } from '@switchyard/core';
import { type RedisLockCommonOptions, resolveCommon } from './common-options.js';
import { KeyLayout } from './key-layout.js';
import { LockEngine, PKG } from './lock-engine.js';
import type { RedisClient } from './lua-script.js';
import { listHolders, type PermitHolder, semaphoreStrategy } from './semaphore-strategy.js';

export interface RedisSemaphoreOptions extends RedisLockCommonOptions {
  /** Number of permits per key (≥ 1). */
  permits: number;
}

export interface RedisSemaphore extends DistributedLock {
  readonly client: RedisClient;
  readonly permits: number;
  /** Live holders of `key` (owner, token, ttl left). */
  holders(key: string, options?: { signal?: AbortSignal }): Promise<PermitHolder[]>;
  stats(): LockStats;
}

/**
 * A counting semaphore: at most `permits` leases per key at once; each permit expires with its
 * holder's TTL (server time), is renewed by the lease watchdog and carries a fencing token.
 * Single Redis only: there is deliberately no quorum (Redlock) semaphore, because one can over-admit.
 */
export function createRedisSemaphore(options: RedisSemaphoreOptions): RedisSemaphore {
  const permits = assertInteger(PKG, 'permits', options?.permits, 1, 1_000_000);
  const common = resolveCommon(options);
  const layout = new KeyLayout(PKG, options.prefix ?? 'switchyard:sem:');
  const engine = new LockEngine({
    ...common,
    name: 'redis-semaphore',
    layout,
    strategy: semaphoreStrategy(permits),
    capabilities: Object.freeze({
      fair: false,
      reentrant: false,
      ttlGranularity: 'milliseconds',
      notifications: true,
    }),
    wakeMode: 'one',
    queueLease: 0,
    reentrant: false,
  });
  return {
    name: engine.name,
    capabilities: engine.capabilities,
    client: engine.client,
    permits,
    acquire: (key, o) => engine.acquire(key, o),
    tryAcquire: (key, o) => engine.tryAcquire(key, o),
    inspect: (key, o) => engine.inspect(key, o),
    holders: (key, o = {}) => {
      assertKey(PKG, 'key', key);
      return engine.op('holders', () => listHolders({ client: engine.client, layout }, key), o.signal);
    },
    stats: () => engine.stats.snapshot(),
    close: () => engine.close(),
    [Symbol.asyncDispose]: () => engine.close(),
  };
}

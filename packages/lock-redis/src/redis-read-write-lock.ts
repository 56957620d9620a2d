import { assertDuration, type DistributedLock } from '@switchyard/core';
import { type RedisLockCommonOptions, resolveCommon } from './common-options.js';
import { KeyLayout } from './key-layout.js';
import { LockEngine, PKG } from './lock-engine.js';
import type { LockStrategy } from './lock-strategy.js';
import { parseAttempt } from './lock-strategy.js';
import type { RedisClient } from './lua-script.js';
import { mutexStrategy } from './mutex-strategy.js';
import { ACQUIRE_READ, ACQUIRE_WRITE, WITHDRAW_INTENT } from './read-write-scripts.js';
import { holdersInfo, listHolders, permitOps } from './semaphore-strategy.js';

export interface RedisReadWriteLockOptions extends RedisLockCommonOptions {
  /** How long a waiting writer's intent blocks new readers without a refresh, ms (default 5 000). */
  intentTtl?: number;
}

export interface RedisReadWriteLock extends AsyncDisposable {
  readonly client: RedisClient;
  /** Shared side: many readers at once, none while a writer holds or waits. */
  readonly read: DistributedLock;
  /** Exclusive side: one writer, no readers. */
  readonly write: DistributedLock;
  close(): Promise<void>;
}

/** Many readers or one writer per key; a waiting writer blocks new readers, so writers are not starved. */
export function createRedisReadWriteLock(options: RedisReadWriteLockOptions): RedisReadWriteLock {
  const common = resolveCommon(options);
  const intentTtl = assertDuration(PKG, 'intentTtl', options.intentTtl ?? 5_000, { min: 50 });
  const layout = new KeyLayout(PKG, options.prefix ?? 'switchyard:rw:');
  const keys = (key: string) => [
    layout.lock(key),
    layout.fence(key),
    layout.holders(key),
    layout.queueMeta(key),
    layout.writeIntent(key),
  ];
  const mutex = mutexStrategy(false, true);
  const writer: LockStrategy = {
    waitLeavesState: true,
    async attempt({ client }, h, queueLease) {
      return parseAttempt(
        await ACQUIRE_WRITE.run(client, keys(h.key), [h.owner, h.hid, h.ttl, Math.ceil(queueLease)]),
      );
    },
    extend: mutex.extend,
    release: mutex.release,
    async cleanup(ctx, h) {
      await WITHDRAW_INTENT.run(ctx.client, [layout.writeIntent(h.key)], [h.hid]);
      await mutex.cleanup(ctx, h);
    },
    inspect: mutex.inspect,
  };
  const reader: LockStrategy = {
    async attempt({ client }, h) {
      return parseAttempt(await ACQUIRE_READ.run(client, keys(h.key), [h.owner, h.hid, h.ttl]));
    },
    ...permitOps,
    async inspect(ctx, key) {
      return holdersInfo(key, await listHolders(ctx, key));
    },
  };
  const base = {
    ...common,
    layout,
    queueLease: intentTtl,
    reentrant: false,
    // A waiting writer must refresh its intent before it lapses.
    pollInterval: Math.min(common.pollInterval, intentTtl / 3),
    // Several readers may get in at once after a writer leaves.
    wakeMode: 'all' as const,
  };
  const caps = {
    fair: false,
    reentrant: false,
    ttlGranularity: 'milliseconds',
    notifications: true,
  } as const;
  const write = new LockEngine({ ...base, name: 'redis-rw-write', strategy: writer, capabilities: caps });
  // The reader engine shares the client but never closes it; the writer engine owns it.
  const read = new LockEngine({
    ...base,
    ownsClient: false,
    name: 'redis-rw-read',
    strategy: reader,
    capabilities: caps,
  });
  const close = async () => {
    await read.close();
    await write.close();
  };
  return { client: common.client, read, write, close, [Symbol.asyncDispose]: close };
}

import {
  type AcquireOptions,
  assertFunction,
  assertNonEmptyString,
  type DistributedLock,
  type LockAdmin as LockAdminContract,
  type LockCapabilities,
  type LockLease,
  type LockStats,
  SwitchyardError,
} from '@switchyard/core';
import type { Etcd3 } from 'etcd3';
import { PKG } from './constants.js';
import { type EtcdLockInfo, LockAdmin } from './lock-admin.js';
import { LockEngine } from './lock-engine.js';
import { type EtcdLockOptions, resolveOptions } from './options.js';

export interface EtcdLock extends DistributedLock, LockAdminContract {
  /** The etcd3 client in use (yours if you passed one). */
  readonly client: Etcd3;
  inspect(key: string, options?: { signal?: AbortSignal }): Promise<EtcdLockInfo | undefined>;
  /** Every held lock under the prefix, with owner, token, TTL left and waiters. */
  list(options?: { signal?: AbortSignal }): Promise<EtcdLockInfo[]>;
  /** Operator release of the current holder; the fencing order is untouched. */
  forceRelease(key: string, options?: { signal?: AbortSignal }): Promise<boolean>;
  /** This client's counters and wait-time histogram. */
  stats(): LockStats;
  /** Runs `fn` with `owner` as the default owner of acquires inside it (for reentrancy). */
  runAsOwner<T>(owner: string, fn: () => T): T;
}

/**
 * A fair, fenced mutex on etcd. Contenders queue as keys under `<prefix>/<key>/` on a shared
 * session lease; the oldest key (lowest create revision) holds the lock and its create revision is
 * the fencing token; each waiter watches only its predecessor's deletion.
 */
export function createEtcdLock(options: EtcdLockOptions): EtcdLock {
  const engine = new LockEngine(resolveOptions(options));
  const admin = new LockAdmin(engine);
  const capabilities: LockCapabilities = Object.freeze({
    fair: true,
    reentrant: engine.options.reentrant,
    ttlGranularity: 'seconds',
    notifications: true,
  });
  const lock: EtcdLock = {
    name: 'etcd',
    capabilities,
    client: engine.options.client,
    acquire: (key: string, opts: AcquireOptions = {}) => engine.acquire(key, { ...opts, permits: 1 }),
    async tryAcquire(key: string, opts: Omit<AcquireOptions, 'wait'> = {}): Promise<LockLease | undefined> {
      try {
        return await engine.acquire(key, { ...opts, wait: 0, permits: 1 });
      } catch (error) {
        if (SwitchyardError.is(error, 'LOCK_TIMEOUT')) return undefined;
        throw error;
      }
    },
    inspect: async (key, opts = {}) => admin.inspect(key, opts.signal),
    list: async (opts = {}) => admin.list(opts.signal),
    forceRelease: async (key, opts = {}) => {
      const done = await admin.forceRelease(key, opts.signal);
      if (done) engine.stats.forceReleased++;
      return done;
    },
    stats: () => engine.stats.snapshot(),
    runAsOwner(owner, fn) {
      assertNonEmptyString(PKG, 'owner', owner, 256);
      assertFunction(PKG, 'fn', fn);
      return engine.ownerScope.run(owner, fn);
    },
    close: () => engine.close(),
    [Symbol.asyncDispose]: () => engine.close(),
  };
  return lock;
}

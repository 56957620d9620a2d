import {
  type AcquireOptions,
  assertInteger,
  type LockLease,
  type LockStats,
  SwitchyardError,
} from '@switchyard/core';
import type { Etcd3 } from 'etcd3';
import { PKG } from './constants.js';
import { LockEngine } from './lock-engine.js';
import { type EtcdLockOptions, resolveOptions } from './options.js';

export interface EtcdSemaphoreOptions extends Omit<EtcdLockOptions, 'reentrant'> {
  /** Holders admitted at once per key (>= 1). Every client of a key must use the same number. */
  permits: number;
}

export interface EtcdSemaphore extends AsyncDisposable {
  readonly client: Etcd3;
  readonly permits: number;
  /**
   * Takes a permit: resolves once fewer than `permits` older contenders remain. The lease's
   * `token` is its create revision (increasing, but several holders hold at once).
   */
  acquire(key: string, options?: AcquireOptions): Promise<LockLease>;
  tryAcquire(key: string, options?: Omit<AcquireOptions, 'wait'>): Promise<LockLease | undefined>;
  stats(): LockStats;
  close(): Promise<void>;
}

/**
 * A counting semaphore on the same queue as the mutex: the `permits` oldest keys hold. A permit
 * expires with its holder's session lease. Waiters watch the key's queue directory (any older
 * holder leaving may admit them), with the same jittered fallback poll.
 */
export function createEtcdSemaphore(options: EtcdSemaphoreOptions): EtcdSemaphore {
  const permits = assertInteger(PKG, 'permits', options?.permits, 1, 1_000_000);
  const engine = new LockEngine(resolveOptions({ ...options, reentrant: false }));
  return {
    client: engine.options.client,
    permits,
    acquire: (key, opts = {}) => engine.acquire(key, { ...opts, permits }),
    async tryAcquire(key, opts = {}) {
      try {
        return await engine.acquire(key, { ...opts, wait: 0, permits });
      } catch (error) {
        if (SwitchyardError.is(error, 'LOCK_TIMEOUT')) return undefined;
        throw error;
      }
    },
    stats: () => engine.stats.snapshot(),
    close: () => engine.close(),
    [Symbol.asyncDispose]: () => engine.close(),
  };
}

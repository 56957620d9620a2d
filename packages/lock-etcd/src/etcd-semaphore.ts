import { assertKey, type LockInfo } from '@switchyard/core';
import { callBackend, KEY_PREFIX, opt, parseOptions } from '@switchyard/core/driver';
import { PKG } from './constants.js';
import { buildEtcdLock, commonSchema, type EtcdLock, type EtcdLockCommonOptions } from './etcd-lock.js';

export interface EtcdSemaphoreOptions extends EtcdLockCommonOptions {
  /** Holders admitted at once per key (≥ 1). Every client of a key must use the same number. */
  permits: number;
}

export interface EtcdSemaphore extends EtcdLock {
  readonly permits: number;
  /** Every live holder of `key` (owner, token, ttl left; `waiters` counts the queue), oldest first. */
  holders(key: string, options?: { signal?: AbortSignal }): Promise<LockInfo[]>;
}

/**
 * A counting semaphore on the same queue as the mutex: the `permits` oldest keys hold, first come
 * first served. A lease's `token` is its create revision (increasing, but several holders hold at
 * once). Waiters watch the key's queue directory. Default prefix `/switchyard/semaphores`.
 */
export function createEtcdSemaphore(options: EtcdSemaphoreOptions): EtcdSemaphore {
  const o = parseOptions(PKG, options, {
    ...commonSchema(`${KEY_PREFIX.etcd.locks.replace(/locks$/, 'semaphores')}`),
    permits: opt.integer(1, 1_000_000).required(),
  });
  const { lock, client, driver } = buildEtcdLock(o, {
    name: 'etcd-semaphore',
    permits: o.permits,
    fair: true,
  });
  return {
    ...lock,
    client,
    prefix: o.prefix,
    permits: o.permits,
    holders(key, opts) {
      const { signal } = parseOptions(PKG, opts, { signal: opt.signal() });
      assertKey(PKG, 'key', key);
      return callBackend('holders', { pkg: PKG, clock: o.clock, timeout: o.requestTimeout, signal }, () =>
        driver.holders(key),
      );
    },
  };
}

import type { AcquireOptions, DistributedLock, LockLease } from '../contracts/lock.js';
import { invalidArgument } from '../errors.js';
import { anySignal } from '../primitives/abort.js';

/**
 * Runs `fn` while holding `key`: acquires with automatic renewal, passes a signal that fires when
 * the lock is lost (or `options.signal` fires), and always releases. `fn`'s result is returned;
 * if the lock was lost while `fn` ran, `fn` still decides what to do with the aborted signal.
 */
export async function withLock<T>(
  lock: DistributedLock,
  key: string,
  fn: (signal: AbortSignal, lease: LockLease) => Promise<T> | T,
  options: Omit<AcquireOptions, 'autoRenew'> = {},
): Promise<T> {
  if (typeof fn !== 'function') throw invalidArgument('core', 'fn', 'must be a function');
  const lease = await lock.acquire(key, { ...options, autoRenew: true });
  try {
    const signal = anySignal(lease.signal, options.signal) ?? lease.signal;
    return await fn(signal, lease);
  } finally {
    await lease.release().catch(() => false);
  }
}

import { AsyncLocalStorage } from 'node:async_hooks';
import { assertFunction, assertNonEmptyString } from '../validation.js';

const scope = new AsyncLocalStorage<string>();

/**
 * Runs `fn` with `owner` as the lock owner of the current async context, for every lock backend:
 * a reentrant lock acquired inside (without an explicit `owner`) uses it, so nested acquires of
 * the same key re-enter instead of deadlocking. Node has no thread id; this is its equivalent.
 */
export function runWithLockOwner<T>(owner: string, fn: () => T): T {
  assertNonEmptyString('core', 'owner', owner, 256);
  assertFunction('core', 'fn', fn);
  return scope.run(owner, fn);
}

/** The owner id of the current async context, if any. */
export function currentLockOwner(): string | undefined {
  return scope.getStore();
}

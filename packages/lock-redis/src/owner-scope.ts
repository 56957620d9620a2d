import { AsyncLocalStorage } from 'node:async_hooks';
import { assertFunction, assertNonEmptyString } from '@switchyard/core';

const scope = new AsyncLocalStorage<string>();

/**
 * Runs `fn` with `owner` as the lock owner of the current async context: reentrant locks acquired
 * inside (without an explicit `owner`) use it, so nested acquires of the same key re-enter instead
 * of deadlocking. Node has no thread id; this is its equivalent. Pass the same id to another process
 * (as `owner`) to hand a reentrant lock over.
 */
export function runWithLockOwner<T>(owner: string, fn: () => T): T {
  assertNonEmptyString('lock-redis', 'owner', owner, 256);
  assertFunction('lock-redis', 'fn', fn);
  return scope.run(owner, fn);
}

/** The owner id of the current async context, if any. */
export function currentLockOwner(): string | undefined {
  return scope.getStore();
}

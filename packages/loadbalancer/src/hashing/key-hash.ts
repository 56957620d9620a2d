import type { PickContext } from '@switchyard/core';
import { invalidArgument } from '@switchyard/core';
import { PKG } from '../weights/prepared-set.js';
import { hashString } from './murmur3.js';

/**
 * A request key as the string that is hashed: strings as they are, finite numbers and bigints by
 * their decimal text (`42` and `'42'` are the same key, so numeric ids spread like string ids);
 * anything else (null, arrays, objects, NaN) is `INVALID_ARGUMENT` naming `context.key`.
 */
export function keyString(key: unknown): string {
  if (typeof key === 'string') return key;
  if ((typeof key === 'number' && Number.isFinite(key)) || typeof key === 'bigint') return String(key);
  throw invalidArgument(
    PKG,
    'context.key',
    `must be a string (or a finite number/bigint), got ${key === null ? 'null' : Array.isArray(key) ? 'an array' : typeof key === 'number' ? String(key) : typeof key}`,
  );
}

function badHash(hash: unknown): never {
  throw invalidArgument(PKG, 'context.hash', `must be a finite number, got ${String(hash)}`);
}

/** The request's 32-bit hash: `context.hash`, else murmur3 of `context.key`, else random. */
export function keyHash(context: PickContext | undefined, next: () => number): number {
  if (context !== undefined) {
    const { hash, key } = context;
    if (hash !== undefined)
      return typeof hash === 'number' && Number.isFinite(hash) ? hash >>> 0 : badHash(hash);
    if (key !== undefined) return hashString(typeof key === 'string' ? key : keyString(key));
  }
  // Two 30-bit draws make 32 random bits.
  return ((next() << 2) ^ next()) >>> 0;
}

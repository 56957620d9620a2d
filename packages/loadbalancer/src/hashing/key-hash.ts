import type { PickContext } from '@switchyard/core';
import { murmur3String } from './murmur3.js';

/** The request's 32-bit hash: `context.hash`, else murmur3 of `context.key`, else random. */
export function keyHash(context: PickContext | undefined, random: () => number): number {
  if (context !== undefined) {
    if (context.hash !== undefined) return context.hash >>> 0;
    if (context.key !== undefined) return murmur3String(context.key);
  }
  return (random() * 4294967296) >>> 0;
}

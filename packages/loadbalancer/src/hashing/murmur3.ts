/**
 * MurmurHash3 x86_32, implemented here so every process, platform and release hashes the same key
 * to the same value. `murmur3String` hashes the UTF-16LE encoding of a string without allocating:
 * two UTF-16 code units form one 32-bit little-endian block, exactly as if the string had been
 * encoded with `Buffer.from(s, 'utf16le')`.
 */

import { invalidArgument } from '@switchyard/core';
import { PKG } from '../weights/prepared-set.js';

const describeKey = (v: unknown): string =>
  v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v === 'number' ? `the number ${v}` : typeof v;

/** Cold path kept out of the hash functions so they stay small enough to inline. */
function badInput(field: 's' | 'bytes', input: unknown, seed: unknown): never {
  if (typeof seed !== 'number')
    throw invalidArgument(PKG, 'seed', `must be a number, got ${describeKey(seed)}`);
  throw invalidArgument(
    PKG,
    field,
    `must be ${field === 's' ? 'a string' : 'a Uint8Array'}, got ${describeKey(input)}`,
  );
}

const C1 = 0xcc9e2d51;
const C2 = 0x1b873593;

/** The MurmurHash3 finaliser: a fast, well-mixed 32-bit permutation. */
export function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

function mixBlock(h: number, k: number): number {
  k = Math.imul(k, C1);
  k = (k << 15) | (k >>> 17);
  k = Math.imul(k, C2);
  h ^= k;
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}

/** MurmurHash3 x86_32 of the UTF-16LE bytes of `s`, as an unsigned 32-bit integer. */
export function murmur3String(s: string, seed = 0): number {
  if (typeof s !== 'string' || typeof seed !== 'number') badInput('s', s, seed);
  return hashString(s, seed);
}

/** `murmur3String` without the argument checks, for callers that already hold a string (hot paths). */
export function hashString(s: string, seed = 0): number {
  let h = seed | 0;
  const len = s.length;
  const pairs = len & ~1;
  for (let i = 0; i < pairs; i += 2) {
    h = mixBlock(h, (s.charCodeAt(i) & 0xffff) | (s.charCodeAt(i + 1) << 16));
  }
  if (len & 1) {
    let k = s.charCodeAt(len - 1) & 0xffff;
    k = Math.imul(k, C1);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, C2);
    h ^= k;
  }
  return fmix32(h ^ (len * 2));
}

/** MurmurHash3 x86_32 of raw bytes (reference form; used to cross-check `murmur3String`). */
export function murmur3Bytes(bytes: Uint8Array, seed = 0): number {
  if (!(bytes instanceof Uint8Array) || typeof seed !== 'number') badInput('bytes', bytes, seed);
  let h = seed | 0;
  const len = bytes.length;
  const blocks = len & ~3;
  for (let i = 0; i < blocks; i += 4) {
    h = mixBlock(
      h,
      (bytes[i] ?? 0) |
        ((bytes[i + 1] ?? 0) << 8) |
        ((bytes[i + 2] ?? 0) << 16) |
        ((bytes[i + 3] ?? 0) << 24),
    );
  }
  const tail = len & 3;
  if (tail > 0) {
    let k = 0;
    if (tail === 3) k ^= (bytes[blocks + 2] ?? 0) << 16;
    if (tail >= 2) k ^= (bytes[blocks + 1] ?? 0) << 8;
    k ^= bytes[blocks] ?? 0;
    k = Math.imul(k, C1);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, C2);
    h ^= k;
  }
  return fmix32(h ^ len);
}

/** Combines two 32-bit hashes into a well-mixed third (rendezvous scores, probe sequences). */
export function combineHashes(a: number, b: number): number {
  return fmix32((Math.imul(a ^ 0x9e3779b9, 0x85ebca6b) + b) | 0);
}

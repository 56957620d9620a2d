import { opt, parseOptions } from '@switchyard/core/driver';
import { hashKey } from './l1/frequency-sketch.js';
import type { KeyPrefilter } from './types.js';

export interface BloomFilterOptions {
  /** Keys the filter is sized for (default 100 000). */
  expectedItems?: number;
  /** Wanted false-positive rate at `expectedItems` (default 0.01). */
  falsePositiveRate?: number;
}

export interface BloomFilter extends KeyPrefilter {
  /** Adds a key that exists in the source of truth. */
  add(key: string): void;
  addMany(keys: Iterable<string>): void;
  /** `false`: the key certainly was never added; `true`: it probably was. */
  has(key: string): boolean;
  clear(): void;
  /** Keys added so far. */
  readonly count: number;
  /** Size of the bit array. */
  readonly bits: number;
  readonly hashes: number;
}

/**
 * A Bloom filter for the `prefilter` option: feed it every key that exists (ids from the
 * database), and `getOrSet` answers `MISSING` for the others without a cache lookup or a load
 * (cache penetration by random ids). Double hashing (Kirsch–Mitzenmacher) over FNV-1a + murmur mix.
 */
export function createBloomFilter(options: BloomFilterOptions = {}): BloomFilter {
  const o = parseOptions('cache', options, {
    expectedItems: opt.integer(1, 1_000_000_000).default(100_000),
    falsePositiveRate: opt.number(1e-9, 0.5).default(0.01),
  });
  const m = Math.max(64, Math.ceil((-o.expectedItems * Math.log(o.falsePositiveRate)) / Math.LN2 ** 2));
  const k = Math.max(1, Math.round((m / o.expectedItems) * Math.LN2));
  const words = new Uint32Array(Math.ceil(m / 32));
  let count = 0;

  const positions = (key: string, visit: (bit: number) => boolean): boolean => {
    const h1 = hashKey(key);
    let h2 = Math.imul(h1 ^ (h1 >>> 16), 0x85ebca6b);
    h2 = (Math.imul(h2 ^ (h2 >>> 13), 0xc2b2ae35) ^ (h2 >>> 16)) | 1;
    for (let i = 0; i < k; i++) {
      const bit = ((h1 + Math.imul(i, h2)) >>> 0) % m;
      if (!visit(bit)) return false;
    }
    return true;
  };

  const filter: BloomFilter = {
    add(key) {
      positions(key, (b) => {
        words[b >>> 5]! |= 1 << (b & 31);
        return true;
      });
      count++;
    },
    addMany(keys) {
      for (const key of keys) filter.add(key);
    },
    has(key) {
      return positions(key, (b) => (words[b >>> 5]! & (1 << (b & 31))) !== 0);
    },
    clear() {
      words.fill(0);
      count = 0;
    },
    get count() {
      return count;
    },
    bits: m,
    hashes: k,
  };
  return filter;
}

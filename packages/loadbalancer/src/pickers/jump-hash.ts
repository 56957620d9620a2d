import type { PickerBuilder, ServiceInstance } from '@switchyard/core';
import { invalidArgument } from '@switchyard/core';
import { keyHash } from '../hashing/key-hash.js';
import { combineHashes } from '../hashing/murmur3.js';
import { endpointKeyOf, PKG, prepareSet, scanEligible } from '../weights/prepared-set.js';
import { checkPickerConfig } from './picker-config.js';

export interface JumpHashOptions {
  /** Metadata key with the shard number that orders buckets (default `shard`); then endpoint key order. */
  shardMetadata?: string;
  /** Metadata key holding a stable endpoint key (default `hash_key`). */
  hashKeyMetadata?: string;
}

const REHASHES = 8;
const MAX_SLOTS = 1 << 16;

/**
 * Jump consistent hash (Lamping & Veach 2014) for numbered shards: no table, O(ln n) per pick,
 * near-perfect balance; only appending or removing the LAST bucket is minimal-movement. Buckets are
 * instances ordered by `metadata.shard` (numeric), then endpoint key; an instance of weight w takes
 * about w / minWeight consecutive buckets (at most 65 536 in all, see `slotCounts`). A string key is
 * murmur3 x86_32 (seed 0) of its UTF-16LE code units, zero-extended to the uint64 jump key.
 */
export function jumpHashPicker<T extends ServiceInstance = ServiceInstance>(
  config: JumpHashOptions = {},
): PickerBuilder<T> {
  checkPickerConfig('jumpHash', config);
  const shardKey = config.shardMetadata ?? 'shard';
  const metaKey = config.hashKeyMetadata ?? 'hash_key';
  return (instances, options) => {
    const set = prepareSet(instances, options);
    const { isEligible, next, weights } = set;
    const n = instances.length;
    const keys = instances.map((i) => endpointKeyOf(i, metaKey));
    const shardOf = (i: number) => {
      const v = Number((instances[i] as T).metadata[shardKey]);
      return Number.isFinite(v) ? v : Number.POSITIVE_INFINITY;
    };
    const order = keys
      .map((_, i) => i)
      .filter((i) => (weights[i] as number) > 0)
      .sort((a, b) => shardOf(a) - shardOf(b) || ((keys[a] as string) < (keys[b] as string) ? -1 : 1));
    const counts = slotCounts(order.map((i) => weights[i] as number));
    const slotList: number[] = [];
    for (let e = 0; e < order.length; e++)
      for (let k = 0; k < (counts[e] as number); k++) slotList.push(order[e] as number);
    const slots = Int32Array.from(slotList);
    const buckets = slots.length;
    return {
      name: 'jump-hash',
      size: n,
      pick(context) {
        if (buckets === 0) return undefined;
        let h = keyHash(context, next);
        for (let k = 0; k <= REHASHES; k++) {
          const owner = slots[jumpBucket64(0, h, buckets)] as number;
          if (!isEligible || isEligible(instances[owner] as T, owner)) return instances[owner];
          h = combineHashes(h, k + 1) >>> 0;
        }
        const i = scanEligible(set, slots[jumpBucket64(0, h, buckets)] as number);
        return i < 0 ? undefined : instances[i];
      },
    };
  };
}

/**
 * Buckets per instance: weights are normalised by the largest (no overflow, whatever the ratio),
 * then one bucket per smallest weight unit, scaled down to fit MAX_SLOTS; every positive weight
 * keeps at least one bucket. `[1, 2, 3]` gives 1, 2, 3 buckets; `[5e-324, 1]` gives 1 and 65 535.
 */
export function slotCounts(weights: readonly number[]): number[] {
  let maxW = 0;
  for (const w of weights) if (w > maxW) maxW = w;
  if (maxW === 0) return weights.map(() => 0);
  let minR = 1;
  let sumR = 0;
  const ratios = weights.map((w) => {
    const r = w / maxW;
    if (r > 0 && r < minR) minR = r;
    sumR += r;
    return r;
  });
  // Buckets per unit of normalised weight: one per smallest weight, or fewer to stay under the cap.
  const unit = Math.min(1 / minR, Math.max(1, MAX_SLOTS - weights.length) / sumR);
  return ratios.map((r, i) => ((weights[i] as number) > 0 ? Math.max(1, Math.round(r * unit)) : 0));
}

/**
 * Jump consistent hash, exactly as published (Lamping & Veach 2014, Fig. 1; Guava
 * `Hashing.consistentHash`, Go `github.com/dgryski/go-jump`): the 64-bit LCG
 * `key = key × 2862933555777941757 + 1 (mod 2^64)`, then `j = (b + 1) × (2^31 / ((key >>> 33) + 1))`.
 * `key` is a uint64: a non-negative safe integer, or a bigint taken mod 2^64 (so a negative Java
 * `long` gives Guava's answer). `buckets` is an integer in 1..2^31−1. Same key, same bucket in
 * Node, the JVM and Go.
 */
export function jumpBucket(key: number | bigint, buckets: number): number {
  if (!Number.isInteger(buckets) || buckets < 1 || buckets > 0x7fffffff)
    throw invalidArgument(PKG, 'buckets', `must be an integer in 1..2147483647, got ${describe(buckets)}`);
  if (typeof key === 'bigint') {
    const k = BigInt.asUintN(64, key);
    return jumpBucket64(Number(k >> 32n), Number(k & 0xffffffffn), buckets);
  }
  if (!Number.isSafeInteger(key) || key < 0)
    throw invalidArgument(
      PKG,
      'key',
      `must be a non-negative safe integer or a bigint, got ${describe(key)}`,
    );
  return jumpBucket64(Math.floor(key / 4294967296), key % 4294967296, buckets);
}

function describe(v: unknown): string {
  return typeof v === 'number' || typeof v === 'bigint' ? String(v) : v === null ? 'null' : typeof v;
}

// 2862933555777941757 = 0x27BB2EE6_87B0B0FD, and its low word split into 16-bit halves.
const M_HI = 0x27bb2ee6;
const M_LO = 0x87b0b0fd;
const M_LO_HI16 = M_LO >>> 16;
const M_LO_LO16 = M_LO & 0xffff;

/**
 * The published loop on a uint64 held as two uint32 words (no BigInt, no allocation). The 64-bit
 * product is exact: lo × M_LO is formed from 16-bit partial products (each exact in a double), the
 * cross terms only matter mod 2^32 (`Math.imul`).
 */
export function jumpBucket64(hi: number, lo: number, buckets: number): number {
  let b = -1;
  let j = 0;
  while (j < buckets) {
    b = j;
    const l0 = lo & 0xffff;
    const l1 = lo >>> 16;
    const p00 = l0 * M_LO_LO16;
    const p01 = l0 * M_LO_HI16;
    const p10 = l1 * M_LO_LO16;
    const p11 = l1 * M_LO_HI16;
    const mid = (p00 >>> 16) + (p01 & 0xffff) + (p10 & 0xffff);
    const carry = p11 + (p01 >>> 16) + (p10 >>> 16) + (mid >>> 16);
    const newLo = ((mid << 16) | (p00 & 0xffff)) >>> 0;
    let newHi = (carry + Math.imul(hi, M_LO) + Math.imul(lo, M_HI)) >>> 0;
    lo = (newLo + 1) >>> 0;
    if (lo === 0) newHi = (newHi + 1) >>> 0;
    hi = newHi;
    j = Math.floor((b + 1) * (2147483648 / ((hi >>> 1) + 1)));
  }
  return b;
}

import type { PickerBuilder, ServiceInstance } from '@switchyard/core';
import { keyHash } from '../hashing/key-hash.js';
import { combineHashes, fmix32 } from '../hashing/murmur3.js';
import { endpointKeyOf, prepareSet, scanEligible } from '../weights/prepared-set.js';
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
 * round(w / minWeight) consecutive buckets.
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
    let minW = Number.POSITIVE_INFINITY;
    for (const i of order) minW = Math.min(minW, weights[i] as number);
    let total = 0;
    for (const i of order) total += Math.max(1, Math.round((weights[i] as number) / minW));
    const scale = total > MAX_SLOTS ? MAX_SLOTS / total : 1;
    const slotList: number[] = [];
    for (const i of order) {
      const c = Math.max(1, Math.floor(Math.max(1, Math.round((weights[i] as number) / minW)) * scale));
      for (let k = 0; k < c; k++) slotList.push(i);
    }
    const slots = Int32Array.from(slotList);
    const buckets = slots.length;
    return {
      name: 'jump-hash',
      size: n,
      pick(context) {
        if (buckets === 0) return undefined;
        let h = keyHash(context, next);
        for (let k = 0; k <= REHASHES; k++) {
          const owner = slots[jumpBucket(h, buckets)] as number;
          if (!isEligible || isEligible(instances[owner] as T, owner)) return instances[owner];
          h = combineHashes(h, k + 1) >>> 0;
        }
        const i = scanEligible(set, slots[jumpBucket(h, buckets)] as number);
        return i < 0 ? undefined : instances[i];
      },
    };
  };
}

/** Jump consistent hash of a 32-bit key into [0, buckets), driven by a 32-bit splitmix sequence. */
export function jumpBucket(key: number, buckets: number): number {
  let b = -1;
  let j = 0;
  let state = key | 0;
  while (j < buckets) {
    b = j;
    state = (state + 0x9e3779b9) | 0;
    const r = fmix32(state);
    j = Math.floor(((b + 1) * 4294967296) / (r + 1));
  }
  return b;
}

import type { PickerBuilder, ServiceInstance } from '@switchyard/core';
import { invalidArgument } from '@switchyard/core';
import { keyHash } from '../hashing/key-hash.js';
import { combineHashes, hashString } from '../hashing/murmur3.js';
import { isPrime } from '../hashing/primes.js';
import { endpointKeyOf, PKG, prepareSet, scanEligible } from '../weights/prepared-set.js';
import { checkPickerConfig } from './picker-config.js';

export interface MaglevOptions {
  /**
   * Lookup table size: a prime <= 50 000 021. Default `maglevTableSize(hosts)`: the smallest of
   * 65 537, 131 071, 262 139, 524 287, 1 048 573 that is >= 1000 × hosts (capped at 1 048 573).
   */
  tableSize?: number;
  /** Metadata key holding a stable endpoint key (default `hash_key`); the instance id otherwise. */
  hashKeyMetadata?: string;
}

const REHASHES = 8;

/**
 * The default table sizes: primes near powers of two. A fixed ladder, not "next prime >= k × hosts",
 * because the table size is part of the key → slot mapping: a size that followed every host count
 * would move nearly every key on every membership change. With the ladder, keys move that way only
 * when the host count crosses a step (66, 132, 263, 525 hosts).
 */
export const MAGLEV_TABLE_SIZES: readonly number[] = [65537, 131071, 262139, 524287, 1048573];

/** Slots per host the default size aims for: disruption falls as M / N grows (see the README). */
const SLOTS_PER_HOST = 1000;

/** The default Maglev table size for `hosts` instances (with weight > 0 or not). */
export function maglevTableSize(hosts: number): number {
  for (const size of MAGLEV_TABLE_SIZES) if (size >= SLOTS_PER_HOST * hosts) return size;
  return MAGLEV_TABLE_SIZES[MAGLEV_TABLE_SIZES.length - 1] as number;
}

/**
 * Maglev hashing (Eisenbud et al., NSDI'16; Envoy MAGLEV with weights): a prime-sized table filled
 * from per-host permutations, one modulo and one array read per lookup. Hosts are processed in
 * endpoint-key order so the table is identical in every process. An ineligible owner sends the key
 * to a rehashed slot (up to 8 times), spreading its keys over the others.
 */
export function maglevPicker<T extends ServiceInstance = ServiceInstance>(
  config: MaglevOptions = {},
): PickerBuilder<T> {
  checkPickerConfig('maglev', config);
  const requested = config.tableSize;
  if (
    requested !== undefined &&
    (!Number.isInteger(requested) || !isPrime(requested) || requested > 50_000_021)
  )
    throw invalidArgument(PKG, 'maglev.tableSize', `must be a prime <= 50000021, got ${String(requested)}`);
  const metaKey = config.hashKeyMetadata ?? 'hash_key';
  return (instances, options) => {
    const set = prepareSet(instances, options);
    const { isEligible, next } = set;
    const n = instances.length;
    const size = requested ?? maglevTableSize(n);
    const table = buildMaglevTable(
      set.weights,
      instances.map((i) => endpointKeyOf(i, metaKey)),
      size,
    );
    const empty = set.positive === 0;
    return {
      name: 'maglev',
      size: n,
      pick(context) {
        if (empty) return undefined;
        let h = keyHash(context, next);
        for (let k = 0; k <= REHASHES; k++) {
          const owner = table[h % size] as number;
          if (!isEligible || isEligible(instances[owner] as T, owner)) return instances[owner];
          h = combineHashes(h, k + 1) >>> 0;
        }
        const i = scanEligible(set, table[h % size] as number);
        return i < 0 ? undefined : instances[i];
      },
    };
  };
}

/** Fills the Maglev table; entry = instance index. Weighted as in Envoy (turns ∝ weight / max weight). */
export function buildMaglevTable(weights: Float64Array, keys: readonly string[], size: number): Int32Array {
  const table = new Int32Array(size).fill(-1);
  const order = keys
    .map((_, i) => i)
    .filter((i) => (weights[i] as number) > 0)
    .sort((a, b) => ((keys[a] as string) < (keys[b] as string) ? -1 : 1));
  const m = order.length;
  if (m === 0) return table;
  let maxW = 0;
  for (const i of order) maxW = Math.max(maxW, weights[i] as number);
  const pos = new Float64Array(m);
  const skip = new Float64Array(m);
  const norm = new Float64Array(m);
  const target = new Float64Array(m);
  for (let e = 0; e < m; e++) {
    const i = order[e] as number;
    const key = keys[i] as string;
    pos[e] = hashString(key, 0x9747b28c) % size;
    skip[e] = (hashString(key, 0x5bd1e995) % (size - 1)) + 1;
    norm[e] = (weights[i] as number) / maxW;
  }
  let filled = 0;
  for (let iteration = 1; filled < size; iteration++) {
    for (let e = 0; e < m && filled < size; e++) {
      if (iteration * (norm[e] as number) < (target[e] as number)) continue;
      target[e] = (target[e] as number) + 1;
      let c = pos[e] as number;
      const s = skip[e] as number;
      while ((table[c] as number) >= 0) {
        c += s;
        if (c >= size) c -= size;
      }
      table[c] = order[e] as number;
      c += s;
      pos[e] = c >= size ? c - size : c;
      filled++;
    }
  }
  return table;
}

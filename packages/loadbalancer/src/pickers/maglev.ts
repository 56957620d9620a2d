import type { PickerBuilder, ServiceInstance } from '@switchyard/core';
import { invalidArgument } from '@switchyard/core';
import { keyHash } from '../hashing/key-hash.js';
import { combineHashes, hashString } from '../hashing/murmur3.js';
import { isPrime, nextPrime } from '../hashing/primes.js';
import { endpointKeyOf, PKG, prepareSet, scanEligible } from '../weights/prepared-set.js';
import { checkPickerConfig } from './picker-config.js';

export interface MaglevOptions {
  /** Lookup table size: a prime. Default 65 537, raised to the next prime >= 100 × hosts. */
  tableSize?: number;
  /** Metadata key holding a stable endpoint key (default `hash_key`); the instance id otherwise. */
  hashKeyMetadata?: string;
}

const REHASHES = 8;

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
    const size = requested ?? Math.max(65537, nextPrime(100 * n));
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

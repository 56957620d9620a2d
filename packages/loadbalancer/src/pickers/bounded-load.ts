import type { PickerBuilder, ServiceInstance } from '@switchyard/core';
import { invalidArgument } from '@switchyard/core';
import { buildHashRing, type HashRingOptions, ringIndex, validateRingOptions } from '../hashing/hash-ring.js';
import { keyHash } from '../hashing/key-hash.js';
import { PKG, prepareSet } from '../weights/prepared-set.js';
import { checkPickerConfig } from './picker-config.js';

export interface BoundedLoadOptions extends HashRingOptions {
  /** Allowed overload over the weighted mean: capacity = ceil((1 + ε) × (load + 1) × w / W). Default 0.25. */
  epsilon?: number;
}

/**
 * Consistent hashing with bounded loads (Mirrokni, Thorup & Zadimoghaddam; HAProxy
 * `hash-balance-factor`): walk the ring clockwise from the key and take the first eligible
 * instance whose in-flight load (`loadOf`) is below its capacity, so no instance carries more than
 * (1 + ε) × its weighted share. Reading the total load is O(n) per pick.
 */
export function boundedLoadPicker<T extends ServiceInstance = ServiceInstance>(
  config: BoundedLoadOptions = {},
): PickerBuilder<T> {
  checkPickerConfig('boundedLoad', config);
  const ringOptions = validateRingOptions('boundedLoad', config);
  const epsilon = config.epsilon ?? 0.25;
  if (typeof epsilon !== 'number' || !(epsilon > 0) || epsilon > 100)
    throw invalidArgument(PKG, 'boundedLoad.epsilon', `must be a number in (0, 100], got ${String(epsilon)}`);
  return (instances, options) => {
    const set = prepareSet(instances, options);
    const ring = buildHashRing(set, ringOptions);
    const { hashes, owners } = ring;
    const { isEligible, next } = set;
    // A sum that overflows (1e308 + 1e308) would zero every capacity: then weights are normalised by
    // the largest, which keeps capacities proportional. Ordinary weights are used as they are.
    const weights = Number.isFinite(set.totalWeight) ? set.weights : normalised(set.weights);
    const loadOf = options?.loadOf;
    const n = instances.length;
    const len = hashes.length;
    return {
      name: 'bounded-load',
      size: n,
      pick(context) {
        if (len === 0) return undefined;
        let totalLoad = 0;
        let totalWeight = 0;
        for (let i = 0; i < n; i++) {
          const w = weights[i] as number;
          if (w === 0 || (isEligible && !isEligible(instances[i] as T, i))) continue;
          totalWeight += w;
          if (loadOf) totalLoad += loadOf(instances[i] as T, i);
        }
        if (totalWeight === 0) return undefined;
        const perWeight = ((1 + epsilon) * (totalLoad + 1)) / totalWeight;
        let idx = ringIndex(ring, keyHash(context, next));
        let fallback = -1;
        for (let k = 0; k < len; k++) {
          const owner = owners[idx] as number;
          idx = idx + 1 === len ? 0 : idx + 1;
          if (isEligible && !isEligible(instances[owner] as T, owner)) continue;
          if (fallback < 0) fallback = owner;
          if (!loadOf) return instances[owner];
          const capacity = Math.ceil(perWeight * (weights[owner] as number));
          if (loadOf(instances[owner] as T, owner) < capacity) return instances[owner];
        }
        return fallback < 0 ? undefined : instances[fallback];
      },
    };
  };
}

function normalised(weights: Float64Array): Float64Array {
  let maxW = 0;
  for (const w of weights) if (w > maxW) maxW = w;
  return weights.map((w) => w / maxW);
}

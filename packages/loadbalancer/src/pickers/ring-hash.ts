import type { PickerBuilder, ServiceInstance } from '@switchyard/core';
import { buildHashRing, type HashRingOptions, ringIndex, validateRingOptions } from '../hashing/hash-ring.js';
import { keyHash } from '../hashing/key-hash.js';
import { prepareSet } from '../weights/prepared-set.js';
import { checkPickerConfig } from './picker-config.js';

export type RingHashOptions = HashRingOptions;

/**
 * Consistent hashing on a ring of virtual nodes (Ketama; Envoy RING_HASH): 160 points per unit of
 * weight by default, O(log n) binary search on a Uint32Array. An ineligible owner passes the key
 * clockwise to the next eligible point, so only that owner's keys move.
 */
export function ringHashPicker<T extends ServiceInstance = ServiceInstance>(
  config: RingHashOptions = {},
): PickerBuilder<T> {
  checkPickerConfig('ringHash', config);
  const ringOptions = validateRingOptions('ringHash', config);
  return (instances, options) => {
    const set = prepareSet(instances, options);
    const ring = buildHashRing(set, ringOptions);
    const { hashes, owners } = ring;
    const { isEligible, next } = set;
    const len = hashes.length;
    return {
      name: 'ring-hash',
      size: instances.length,
      pick(context) {
        if (len === 0) return undefined;
        let idx = ringIndex(ring, keyHash(context, next));
        for (let k = 0; k < len; k++) {
          const owner = owners[idx] as number;
          if (!isEligible || isEligible(instances[owner] as T, owner)) return instances[owner];
          idx = idx + 1 === len ? 0 : idx + 1;
        }
        return undefined;
      },
    };
  };
}

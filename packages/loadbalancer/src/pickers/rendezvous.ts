import type { PickerBuilder, ServiceInstance } from '@switchyard/core';
import { keyHash } from '../hashing/key-hash.js';
import { combineHashes, hashString } from '../hashing/murmur3.js';
import { endpointKeyOf, prepareSet } from '../weights/prepared-set.js';
import { checkPickerConfig } from './picker-config.js';

export interface RendezvousOptions {
  /** Metadata key holding a stable endpoint key (default `hash_key`); the instance id otherwise. */
  hashKeyMetadata?: string;
}

/**
 * Weighted rendezvous (highest random weight) hashing: score = −w / ln(u), u from the key and the
 * endpoint key. Perfect disruption (only a leaving host's keys move) and very even balance, at O(n)
 * per pick: prefer it for small sets or when exact minimal movement matters.
 */
export function rendezvousPicker<T extends ServiceInstance = ServiceInstance>(
  config: RendezvousOptions = {},
): PickerBuilder<T> {
  checkPickerConfig('rendezvous', config);
  const metaKey = config.hashKeyMetadata ?? 'hash_key';
  return (instances, options) => {
    const set = prepareSet(instances, options);
    const { isEligible, next, weights } = set;
    const n = instances.length;
    const hostHashes = new Uint32Array(n);
    for (let i = 0; i < n; i++) hostHashes[i] = hashString(endpointKeyOf(instances[i] as T, metaKey));
    if (set.uniform) {
      // Equal weights: the highest combined hash wins, no logarithm needed.
      return {
        name: 'rendezvous',
        size: n,
        pick(context) {
          const h = keyHash(context, next);
          let best = -1;
          let bestScore = -1;
          for (let i = 0; i < n; i++) {
            if ((weights[i] as number) === 0 || (isEligible && !isEligible(instances[i] as T, i))) continue;
            const score = combineHashes(hostHashes[i] as number, h);
            if (
              score > bestScore ||
              (score === bestScore && (hostHashes[i] as number) < (hostHashes[best] as number))
            ) {
              bestScore = score;
              best = i;
            }
          }
          return best < 0 ? undefined : instances[best];
        },
      };
    }
    return {
      name: 'rendezvous',
      size: n,
      pick(context) {
        const h = keyHash(context, next);
        let best = -1;
        let bestScore = Number.POSITIVE_INFINITY;
        for (let i = 0; i < n; i++) {
          const w = weights[i] as number;
          if (w === 0 || (isEligible && !isEligible(instances[i] as T, i))) continue;
          const u = (combineHashes(hostHashes[i] as number, h) + 0.5) / 4294967296;
          const score = -Math.log(u) / w;
          if (
            score < bestScore ||
            (score === bestScore && (hostHashes[i] as number) < (hostHashes[best] as number))
          ) {
            bestScore = score;
            best = i;
          }
        }
        return best < 0 ? undefined : instances[best];
      },
    };
  };
}

import type { PickerBuilder, ServiceInstance } from '@switchyard/core';
import { AliasTable } from '../weights/alias-table.js';
import { drawIndex, prepareSet, scanEligible } from '../weights/prepared-set.js';

const TRIES = 4;

/** Weighted random in O(1) per draw with Vose's alias method; ineligible draws are retried. */
export function weightedRandomPicker<T extends ServiceInstance = ServiceInstance>(): PickerBuilder<T> {
  return (instances, options) => {
    const set = prepareSet(instances, options);
    const { isEligible, next } = set;
    const table = new AliasTable(set.weights);
    const n = instances.length;
    return {
      name: 'weighted-random',
      size: n,
      pick() {
        if (set.positive === 0) return undefined;
        for (let k = 0; k < TRIES; k++) {
          const i = table.sample(next());
          if (!isEligible || isEligible(instances[i] as T, i)) return instances[i];
        }
        const i = scanEligible(set, drawIndex(next, n));
        return i < 0 ? undefined : instances[i];
      },
    };
  };
}

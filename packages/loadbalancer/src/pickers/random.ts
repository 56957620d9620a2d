import type { PickerBuilder, ServiceInstance } from '@switchyard/core';
import { drawIndex, prepareSet, RANDOM_SCALE, scanEligible } from '../weights/prepared-set.js';

const TRIES = 4;

/**
 * Random choice. Equal weights: one multiply. Unequal weights: a cumulative-weight table searched
 * in O(log n). Up to 4 draws skip ineligible instances, then a scan from a random start.
 */
export function randomPicker<T extends ServiceInstance = ServiceInstance>(): PickerBuilder<T> {
  return (instances, options) => {
    const set = prepareSet(instances, options);
    const { isEligible, next } = set;
    const n = instances.length;
    const uniform = set.uniform && set.positive === n;
    const cumulative = new Float64Array(n);
    let acc = 0;
    for (let i = 0; i < n; i++) {
      acc += set.weights[i] as number;
      cumulative[i] = acc;
    }
    const total = acc;
    const draw = uniform
      ? () => drawIndex(next, n)
      : () => {
          const x = (next() / RANDOM_SCALE) * total;
          let lo = 0;
          let hi = n - 1;
          while (lo < hi) {
            const mid = (lo + hi) >>> 1;
            if ((cumulative[mid] as number) <= x) lo = mid + 1;
            else hi = mid;
          }
          return lo;
        };
    return {
      name: 'random',
      size: n,
      pick() {
        if (set.positive === 0) return undefined;
        for (let k = 0; k < TRIES; k++) {
          const i = draw();
          if (!isEligible || isEligible(instances[i] as T, i)) return instances[i];
        }
        const i = scanEligible(set, drawIndex(next, n));
        return i < 0 ? undefined : instances[i];
      },
    };
  };
}

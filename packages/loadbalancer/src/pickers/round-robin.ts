import type { PickerBuilder, ServiceInstance } from '@switchyard/core';
import { drawIndex, prepareSet, scanEligible } from '../weights/prepared-set.js';
import { createSmoothPicker } from './smooth-weighted-round-robin.js';

/**
 * Round robin starting at a random offset (so a fleet of clients does not hit instance 0 together).
 * Equal weights: a plain cursor. Unequal weights: the smooth weighted sequence.
 */
export function roundRobinPicker<T extends ServiceInstance = ServiceInstance>(): PickerBuilder<T> {
  return (instances, options) => {
    const set = prepareSet(instances, options);
    if (!set.uniform || set.positive !== instances.length)
      return createSmoothPicker(set, 'round-robin', true);
    const n = instances.length;
    const isEligible = set.isEligible;
    let cursor = n > 0 ? drawIndex(set.next, n) : 0;
    return {
      name: 'round-robin',
      size: n,
      pick() {
        if (n === 0) return undefined;
        const i = cursor;
        cursor = cursor + 1 === n ? 0 : cursor + 1;
        if (!isEligible || isEligible(instances[i] as T, i)) return instances[i];
        const j = scanEligible(set, cursor);
        if (j < 0) return undefined;
        cursor = j + 1 === n ? 0 : j + 1;
        return instances[j];
      },
    };
  };
}

import type { Picker, PickerBuilder, ServiceInstance } from '@switchyard/core';
import { drawIndex, type PreparedSet, prepareSet, scanEligible } from '../weights/prepared-set.js';
import { smoothSchedule } from '../weights/smooth-schedule.js';

/**
 * nginx's smooth weighted round robin. Integer weights are compiled into one period of the nginx
 * sequence (O(1) pick); fractional weights (slow start) run nginx's O(n) loop live over the
 * eligible instances. Ineligible instances are skipped without a rebuild.
 */
export function smoothWeightedRoundRobinPicker<
  T extends ServiceInstance = ServiceInstance,
>(): PickerBuilder<T> {
  return (instances, options) =>
    createSmoothPicker(prepareSet(instances, options), 'smooth-weighted-round-robin', false);
}

export function createSmoothPicker<T extends ServiceInstance>(
  set: PreparedSet<T>,
  name: string,
  randomStart: boolean,
): Picker<T> {
  const { instances, isEligible } = set;
  const n = instances.length;
  const schedule = smoothSchedule(set.weights);
  if (schedule) {
    const len = schedule.length;
    let cursor = randomStart && len > 0 ? drawIndex(set.next, len) : 0;
    const tries = Math.min(len, n + 1);
    return {
      name,
      size: n,
      pick() {
        for (let k = 0; k < tries; k++) {
          const i = schedule[cursor] as number;
          cursor = cursor + 1 === len ? 0 : cursor + 1;
          if (!isEligible || isEligible(instances[i] as T, i)) return instances[i];
        }
        const i = len === 0 ? -1 : scanEligible(set, schedule[cursor] as number);
        return i < 0 ? undefined : instances[i];
      },
    };
  }
  const weights = set.weights;
  const current = new Float64Array(n);
  return {
    name,
    size: n,
    pick() {
      let best = -1;
      let bestValue = Number.NEGATIVE_INFINITY;
      let total = 0;
      for (let i = 0; i < n; i++) {
        const w = weights[i] as number;
        if (w === 0 || (isEligible && !isEligible(instances[i] as T, i))) continue;
        const c = (current[i] as number) + w;
        current[i] = c;
        total += w;
        if (c > bestValue) {
          bestValue = c;
          best = i;
        }
      }
      if (best < 0) return undefined;
      current[best] = (current[best] as number) - total;
      return instances[best];
    },
  };
}

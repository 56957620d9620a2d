import type { PickerBuildOptions, ServiceInstance } from '@switchyard/core';
import { invalidArgument } from '@switchyard/core';

export const PKG = 'loadbalancer';

/** The snapshot every picker starts from: instances, validated weights, eligibility and randomness. */
export interface PreparedSet<T extends ServiceInstance> {
  readonly instances: readonly T[];
  readonly weights: Float64Array;
  readonly totalWeight: number;
  /** True when every positive weight is equal (uniform fast paths apply). */
  readonly uniform: boolean;
  /** Count of instances with weight > 0. */
  readonly positive: number;
  readonly isEligible: ((instance: T, index: number) => boolean) | undefined;
  readonly random: () => number;
}

/**
 * Reads effective weights (via `weightOf` or `instance.weight`) and validates them: a weight must be
 * a finite number >= 0, otherwise `INVALID_ARGUMENT` naming `instances[i].weight`.
 */
export function prepareSet<T extends ServiceInstance>(
  instances: readonly T[],
  options: PickerBuildOptions<T> | undefined,
): PreparedSet<T> {
  if (!Array.isArray(instances)) throw invalidArgument(PKG, 'instances', 'must be an array');
  const n = instances.length;
  const weights = new Float64Array(n);
  let total = 0;
  let first = -1;
  let uniform = true;
  let positive = 0;
  const weightOf = options?.weightOf;
  for (let i = 0; i < n; i++) {
    const inst = instances[i] as T;
    if (typeof inst !== 'object' || inst === null)
      throw invalidArgument(PKG, `instances[${i}]`, 'must be an instance');
    const w = weightOf ? weightOf(inst, i) : inst.weight;
    if (typeof w !== 'number' || !Number.isFinite(w) || w < 0) {
      throw invalidArgument(PKG, `instances[${i}].weight`, `must be a finite number >= 0, got ${String(w)}`);
    }
    weights[i] = w;
    total += w;
    if (w > 0) {
      positive++;
      if (first < 0) first = w;
      else if (w !== first) uniform = false;
    }
  }
  return {
    instances,
    weights,
    totalWeight: total,
    uniform,
    positive,
    isEligible: options?.isEligible,
    random: options?.random ?? Math.random,
  };
}

/** Stable endpoint key used by the hashing pickers: a metadata key when present, else the instance id. */
export function endpointKeyOf(instance: ServiceInstance, metadataKey: string | undefined): string {
  if (metadataKey !== undefined) {
    const v = instance.metadata[metadataKey];
    if (v !== undefined && v !== '') return v;
  }
  return instance.id;
}

/** Linear scan from `start` for an eligible instance with weight > 0; -1 if none. */
export function scanEligible<T extends ServiceInstance>(set: PreparedSet<T>, start: number): number {
  const n = set.instances.length;
  const isEligible = set.isEligible;
  for (let k = 0; k < n; k++) {
    let i = start + k;
    if (i >= n) i -= n;
    if ((set.weights[i] as number) > 0 && (!isEligible || isEligible(set.instances[i] as T, i))) return i;
  }
  return -1;
}

/** Greatest common divisor of two positive integers. */
export function gcd(a: number, b: number): number {
  while (b !== 0) {
    const t = a % b;
    a = b;
    b = t;
  }
  return a;
}

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
  /**
   * Uniform integers in [0, 2^30) (`RANDOM_SCALE`): small integers never allocate, where a double
   * returned from a call is boxed (16 B a draw). From `Math.random` inline by default, or from the
   * injected `random` clamped into [0, 1) (a source returning 1, NaN or -1 cannot make a draw miss).
   */
  readonly next: () => number;
}

/** `next()` draws integers in [0, RANDOM_SCALE). */
export const RANDOM_SCALE = 1_073_741_824;

/**
 * xorshift128 (Marsaglia 2003) over an `Int32Array`, seeded from `Math.random` once: `Math.random()`
 * itself returns a fresh heap number (16 B) on every call, even in optimised code, so the default
 * source of the pickers is this integer generator (typed-array state, a 30-bit small-integer result).
 * Statistical quality is ample for load balancing; it is not for cryptography.
 */
const XS = new Int32Array(4);
for (let i = 0; i < 4; i++) XS[i] = (Math.random() * 4294967296) | 0;
if (XS.every((v) => v === 0)) XS[0] = 0x6d2b79f5;

function nativeInts(): number {
  const x = XS[0] as number;
  const t = x ^ (x << 11);
  XS[0] = XS[1] as number;
  XS[1] = XS[2] as number;
  const w = XS[3] as number;
  XS[2] = w;
  const next = w ^ (w >>> 19) ^ t ^ (t >>> 8);
  XS[3] = next;
  return next >>> 2;
}

/** The integer source over a `random()` in [0, 1): NaN, negatives and values >= 1 are clamped. */
export function randomInts(random: (() => number) | undefined): () => number {
  if (random === undefined || random === Math.random) return nativeInts;
  if (typeof random !== 'function') throw invalidArgument(PKG, 'random', 'must be a function');
  return () => {
    const r = random();
    return r >= 0 && r < 1 ? (r * RANDOM_SCALE) | 0 : r >= 1 ? RANDOM_SCALE - 1 : 0;
  };
}

/** An index in [0, n) from one `next()` draw. */
export function drawIndex(next: () => number, n: number): number {
  return Math.floor((next() * n) / RANDOM_SCALE);
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
    next: randomInts(options?.random),
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

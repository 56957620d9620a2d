import { RANDOM_SCALE } from './prepared-set.js';

/**
 * Vose's alias method: O(n) build, O(1) weighted sampling with one random number.
 * `sample(r)` maps a uniform integer r in [0, 2^30) to an index with probability weight[i] / total.
 */
export class AliasTable {
  readonly size: number;
  readonly #prob: Float64Array;
  readonly #alias: Int32Array;

  constructor(weights: Float64Array) {
    const n = weights.length;
    this.size = n;
    this.#prob = new Float64Array(n);
    this.#alias = new Int32Array(n);
    let total = 0;
    for (let i = 0; i < n; i++) total += weights[i] as number;
    if (n === 0 || total <= 0) return;
    const scaled = new Float64Array(n);
    const small = new Int32Array(n);
    const large = new Int32Array(n);
    let ns = 0;
    let nl = 0;
    for (let i = 0; i < n; i++) {
      const s = ((weights[i] as number) * n) / total;
      scaled[i] = s;
      if (s < 1) small[ns++] = i;
      else large[nl++] = i;
    }
    while (ns > 0 && nl > 0) {
      const l = small[--ns] as number;
      const g = large[--nl] as number;
      this.#prob[l] = scaled[l] as number;
      this.#alias[l] = g;
      const rest = (scaled[g] as number) + (scaled[l] as number) - 1;
      scaled[g] = rest;
      if (rest < 1) small[ns++] = g;
      else large[nl++] = g;
    }
    while (nl > 0) {
      const g = large[--nl] as number;
      this.#prob[g] = 1;
      this.#alias[g] = g;
    }
    let positive = 0;
    while ((weights[positive] as number) <= 0) positive++;
    while (ns > 0) {
      // Floating-point leftovers: keep them, but never let a zero weight alias to itself.
      const l = small[--ns] as number;
      this.#prob[l] = 1;
      this.#alias[l] = (weights[l] as number) > 0 ? l : positive;
      if ((weights[l] as number) <= 0) this.#prob[l] = 0;
    }
  }

  /** `r` is a uniform integer in [0, RANDOM_SCALE) (an integer argument is never boxed). */
  sample(r: number): number {
    const x = (r * this.size) / RANDOM_SCALE;
    const i = x | 0;
    return x - i < (this.#prob[i] as number) ? i : (this.#alias[i] as number);
  }
}

/**
 * Time-bucketed counters for a sliding window, rotated lazily from the caller's clock reading:
 * no timer, a few typed arrays, O(1) add and sum. Several metrics share one set of buckets.
 */
export class RollingWindow {
  readonly #metrics: number;
  readonly #buckets: number;
  readonly #bucketMs: number;
  readonly #data: Float64Array;
  readonly #totals: Float64Array;
  #current = 0;

  constructor(windowMs: number, buckets: number, metrics: number) {
    this.#metrics = metrics;
    this.#buckets = buckets;
    this.#bucketMs = windowMs / buckets;
    this.#data = new Float64Array(buckets * metrics);
    this.#totals = new Float64Array(metrics);
  }

  #rotate(now: number): number {
    const index = Math.floor(now / this.#bucketMs);
    const gap = index - this.#current;
    if (gap > 0) {
      const clear = Math.min(gap, this.#buckets);
      for (let k = 1; k <= clear; k++) {
        const b = ((this.#current + k) % this.#buckets) * this.#metrics;
        for (let m = 0; m < this.#metrics; m++) {
          this.#totals[m] = (this.#totals[m] as number) - (this.#data[b + m] as number);
          this.#data[b + m] = 0;
        }
      }
      this.#current = index;
    }
    return (((this.#current % this.#buckets) + this.#buckets) % this.#buckets) * this.#metrics;
  }

  add(metric: number, value: number, now: number): void {
    const b = this.#rotate(now);
    this.#data[b + metric] = (this.#data[b + metric] as number) + value;
    this.#totals[metric] = (this.#totals[metric] as number) + value;
  }

  sum(metric: number, now: number): number {
    this.#rotate(now);
    const v = this.#totals[metric] as number;
    return v < 1e-9 ? 0 : v;
  }

  reset(): void {
    this.#data.fill(0);
    this.#totals.fill(0);
  }
}

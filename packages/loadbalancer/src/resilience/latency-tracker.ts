/**
 * A small reservoir of recent latencies (ring buffer, 512 samples) with a cached percentile,
 * recomputed at most every 64 samples: cheap enough to feed on every response, used for hedging.
 */
export class LatencyTracker {
  readonly #samples = new Float64Array(512);
  readonly #scratch = new Float64Array(512);
  #count = 0;
  #next = 0;
  #sinceCompute = 0;
  readonly #cache = new Map<number, number>();

  record(ms: number): void {
    this.#samples[this.#next] = ms;
    this.#next = (this.#next + 1) & 511;
    if (this.#count < 512) this.#count++;
    if (++this.#sinceCompute >= 64) {
      this.#sinceCompute = 0;
      this.#cache.clear();
    }
  }

  get count(): number {
    return this.#count;
  }

  /** The p-th percentile (0 < p <= 100) of recent samples, or undefined with fewer than 20 samples. */
  percentile(p: number): number | undefined {
    if (this.#count < 20) return undefined;
    const cached = this.#cache.get(p);
    if (cached !== undefined) return cached;
    const view = this.#scratch.subarray(0, this.#count);
    view.set(this.#samples.subarray(0, this.#count));
    view.sort();
    const v = view[Math.min(this.#count - 1, Math.ceil((p / 100) * this.#count) - 1)] as number;
    this.#cache.set(p, v);
    return v;
  }
}

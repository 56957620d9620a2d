import { type Clock, sleep } from '@switchyard/core';
import { PKG } from './options.js';

/**
 * The rate limit Consul's blocking-query docs ask for: `burst` calls go through at once, then one per
 * `interval` ms. In the happy case (rare changes) a watch never waits; under churn it degrades to polling.
 */
export class TokenBucket {
  readonly #burst: number;
  readonly #interval: number;
  readonly #clock: Clock;
  #tokens: number;
  #last: number;

  constructor(burst: number, interval: number, clock: Clock) {
    this.#burst = burst;
    this.#interval = interval;
    this.#clock = clock;
    this.#tokens = burst;
    this.#last = clock.monotonic();
  }

  /** Waits for a token; rejects with ABORTED when `signal` fires. */
  async take(signal?: AbortSignal): Promise<void> {
    this.#refill();
    if (this.#tokens >= 1) {
      this.#tokens -= 1;
      return;
    }
    const wait = Math.ceil((1 - this.#tokens) * this.#interval);
    await sleep(wait, { signal, clock: this.#clock, pkg: PKG, unref: true });
    this.#refill();
    this.#tokens = Math.max(0, this.#tokens - 1);
  }

  #refill(): void {
    const now = this.#clock.monotonic();
    if (this.#interval <= 0) this.#tokens = this.#burst;
    else this.#tokens = Math.min(this.#burst, this.#tokens + (now - this.#last) / this.#interval);
    this.#last = now;
  }
}

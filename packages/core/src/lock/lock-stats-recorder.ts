import type { LockStats } from '../contracts/lock.js';

/** Upper bounds (ms) of the wait-time histogram buckets; a last, open-ended bucket follows. */
export const WAIT_BUCKETS_MS: readonly number[] = Object.freeze([
  1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10_000,
]);

/** Mutable counters behind `LockAdmin.stats()`; backends bump the fields and call `recordWait`. */
export class LockStatsRecorder {
  acquired = 0;
  contended = 0;
  timedOut = 0;
  aborted = 0;
  lost = 0;
  released = 0;
  forceReleased = 0;
  held = 0;
  waiting = 0;
  readonly #buckets = new Array<number>(WAIT_BUCKETS_MS.length + 1).fill(0);

  /** Records how long a successful acquisition waited. */
  recordWait(ms: number): void {
    let i = 0;
    while (i < WAIT_BUCKETS_MS.length && ms > WAIT_BUCKETS_MS[i]!) i++;
    this.#buckets[i] = (this.#buckets[i] ?? 0) + 1;
  }

  snapshot(): LockStats {
    return {
      acquired: this.acquired,
      contended: this.contended,
      timedOut: this.timedOut,
      aborted: this.aborted,
      lost: this.lost,
      released: this.released,
      forceReleased: this.forceReleased,
      held: this.held,
      waiting: this.waiting,
      waitHistogram: this.#buckets.map((count, i) => ({
        le: WAIT_BUCKETS_MS[i] ?? Number.POSITIVE_INFINITY,
        count,
      })),
    };
  }
}

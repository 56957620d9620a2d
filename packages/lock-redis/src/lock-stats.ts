/** Upper bounds (ms) of the wait-time histogram buckets; the last bucket is open-ended. */
export const WAIT_BUCKETS_MS = [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000] as const;

export interface LockStatsSnapshot {
  /** Successful acquires. */
  acquired: number;
  /** Acquires whose first attempt found the lock held. */
  contended: number;
  /** Acquires that gave up with `LOCK_TIMEOUT`. */
  timedOut: number;
  /** Leases that ended lost (expiry, failed renewal, forced release). */
  lost: number;
  /** Forced releases performed by this client. */
  forceReleased: number;
  /** Wait time of successful acquires: `counts[i]` is the number ≤ `bucketsMs[i]`; the last is the overflow. */
  waitHistogram: { bucketsMs: readonly number[]; counts: number[] };
}

/** Counters and a wait-time histogram for one lock client. */
export class LockStats {
  acquired = 0;
  contended = 0;
  timedOut = 0;
  lost = 0;
  forceReleased = 0;
  readonly #counts = new Array<number>(WAIT_BUCKETS_MS.length + 1).fill(0);

  recordWait(ms: number): void {
    let i = WAIT_BUCKETS_MS.findIndex((b) => ms <= b);
    if (i < 0) i = WAIT_BUCKETS_MS.length;
    this.#counts[i] = (this.#counts[i] ?? 0) + 1;
  }

  snapshot(): LockStatsSnapshot {
    return {
      acquired: this.acquired,
      contended: this.contended,
      timedOut: this.timedOut,
      lost: this.lost,
      forceReleased: this.forceReleased,
      waitHistogram: { bucketsMs: WAIT_BUCKETS_MS, counts: [...this.#counts] },
    };
  }
}

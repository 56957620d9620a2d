/** Upper bounds (ms) of the wait-time histogram buckets; the last bucket is open-ended. */
export const WAIT_BUCKETS_MS = [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10_000] as const;

export interface EtcdLockStats {
  /** Successful acquisitions (reentrant re-entries not counted). */
  acquired: number;
  /** Acquisitions that had to queue behind a holder. */
  contended: number;
  timedOut: number;
  aborted: number;
  /** Leases lost (session expiry, failed renewal, forced release). */
  lost: number;
  released: number;
  /** Locks held right now by this client. */
  held: number;
  /** Acquire calls waiting right now. */
  waiting: number;
  /** Counts of wait times per bucket: `le` is the upper bound in ms (`Infinity` for the last). */
  waitHistogram: { le: number; count: number }[];
}

/** Per-client counters for the admin API. */
export class LockStatsRecorder {
  acquired = 0;
  contended = 0;
  timedOut = 0;
  aborted = 0;
  lost = 0;
  released = 0;
  held = 0;
  waiting = 0;
  readonly #buckets = new Array<number>(WAIT_BUCKETS_MS.length + 1).fill(0);

  recordWait(ms: number): void {
    let i = WAIT_BUCKETS_MS.findIndex((le) => ms <= le);
    if (i === -1) i = WAIT_BUCKETS_MS.length;
    this.#buckets[i] = (this.#buckets[i] ?? 0) + 1;
  }

  snapshot(): EtcdLockStats {
    return {
      acquired: this.acquired,
      contended: this.contended,
      timedOut: this.timedOut,
      aborted: this.aborted,
      lost: this.lost,
      released: this.released,
      held: this.held,
      waiting: this.waiting,
      waitHistogram: this.#buckets.map((count, i) => ({
        le: WAIT_BUCKETS_MS[i] ?? Number.POSITIVE_INFINITY,
        count,
      })),
    };
  }
}

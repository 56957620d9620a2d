import type { LockStats } from '@switchyard/core';

/** One histogram bucket as the page shows it: `le: null` is the open-ended last bucket. */
export interface BucketView {
  readonly le: number | null;
  readonly count: number;
}

/** A wait-time percentile, ms: `overflow` when it falls in the open-ended bucket (`ms` is then its lower bound). */
export interface PercentileView {
  readonly ms: number;
  readonly overflow: boolean;
}

/**
 * The `q` quantile (0..1) of a histogram of per-bucket counts (not cumulative) with upper bounds
 * `le`, interpolated linearly inside its bucket like Prometheus' `histogram_quantile`. `null`
 * when the histogram is empty.
 */
export function percentile(
  buckets: readonly { le: number; count: number }[],
  q: number,
): PercentileView | null {
  const total = buckets.reduce((n, b) => n + b.count, 0);
  if (total === 0) return null;
  const rank = Math.max(1, Math.ceil(q * total));
  let below = 0;
  let lower = 0;
  for (const b of buckets) {
    if (below + b.count >= rank) {
      if (!Number.isFinite(b.le)) return { ms: lower, overflow: true };
      const within = (rank - below) / b.count;
      return { ms: Math.round((lower + (b.le - lower) * within) * 100) / 100, overflow: false };
    }
    below += b.count;
    if (Number.isFinite(b.le)) lower = b.le;
  }
  return { ms: lower, overflow: true };
}

const RATE_WINDOW_MS = 60_000;

/**
 * Acquisitions per second of one lock client, from the `acquired` counter sampled at each read
 * (the page reads every 2 s): over the last minute of samples, `null` until two are 0.5 s apart.
 */
export class AcquireRate {
  readonly #samples: { at: number; acquired: number }[] = [];

  sample(acquired: number, now = performance.now()): number | null {
    const s = this.#samples;
    s.push({ at: now, acquired });
    while (s.length > 2 && now - s[0]!.at > RATE_WINDOW_MS) s.shift();
    if (s.length > 200) s.splice(0, s.length - 200);
    const first = s[0]!;
    const dt = (now - first.at) / 1000;
    if (dt < 0.5) return null;
    return Math.round(((acquired - first.acquired) / dt) * 100) / 100;
  }
}

export interface LockStatsView extends Omit<LockStats, 'waitHistogram'> {
  readonly waitHistogram: readonly BucketView[];
  /** Wait-time percentiles of successful acquisitions, ms. */
  readonly wait: { p50: PercentileView | null; p90: PercentileView | null; p99: PercentileView | null };
  /** Acquisitions per second over the last minute (`null` until known). */
  readonly acquireRate: number | null;
}

export function statsView(stats: LockStats, rate: AcquireRate): LockStatsView {
  const h = stats.waitHistogram;
  return {
    ...stats,
    waitHistogram: h.map((b) => ({ le: Number.isFinite(b.le) ? b.le : null, count: b.count })),
    wait: { p50: percentile(h, 0.5), p90: percentile(h, 0.9), p99: percentile(h, 0.99) },
    acquireRate: rate.sample(stats.acquired),
  };
}

import { gcd } from './prepared-set.js';

/** Longest precomputed schedule; beyond it (or with fractional weights) pickers run the live algorithm. */
export const MAX_SCHEDULE = 1 << 18;

/**
 * nginx's smooth weighted round robin, run once over a full period and stored: each instance appears
 * weight/gcd times per period, interleaved (weights 5,1,1 give a a b a c a a). Returns undefined when
 * weights are not integers or the period would exceed MAX_SCHEDULE.
 */
export function smoothSchedule(weights: Float64Array): Int32Array | undefined {
  let g = 0;
  for (const w of weights) {
    if (w === 0) continue;
    if (!Number.isInteger(w)) return undefined;
    g = g === 0 ? w : gcd(g, w);
  }
  if (g === 0) return new Int32Array(0);
  let period = 0;
  for (const w of weights) period += w / g;
  if (period > MAX_SCHEDULE) return undefined;
  const n = weights.length;
  const current = new Float64Array(n);
  const out = new Int32Array(period);
  for (let s = 0; s < period; s++) {
    let best = -1;
    let bestValue = Number.NEGATIVE_INFINITY;
    for (let i = 0; i < n; i++) {
      const w = (weights[i] as number) / g;
      if (w === 0) continue;
      const c = (current[i] as number) + w;
      current[i] = c;
      if (c > bestValue) {
        bestValue = c;
        best = i;
      }
    }
    current[best] = (current[best] as number) - period;
    out[s] = best;
  }
  return out;
}

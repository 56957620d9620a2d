/** Small, dependency-free helpers shared by every package's benchmark in `bench/`. */

/** The `p`-th percentile (0-100) of an ascending array, nearest-rank. `NaN` when empty. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length) - 1;
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank))]!;
}

export interface LatencySummary {
  count: number;
  mean: number;
  p50: number;
  p99: number;
  max: number;
}

/** Summary of latency samples (any unit); does not modify `samples`. */
export function summarize(samples: readonly number[]): LatencySummary {
  const sorted = [...samples].sort((a, b) => a - b);
  const mean = sorted.reduce((s, x) => s + x, 0) / (sorted.length || 1);
  return {
    count: sorted.length,
    mean,
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    max: sorted.at(-1) ?? Number.NaN,
  };
}

/** The median of `values` (for "median of N rounds"). */
export function median(values: readonly number[]): number {
  return percentile(
    [...values].sort((a, b) => a - b),
    50,
  );
}

/** Runs `op` `n` times in sequence; returns per-call latencies in ms and the achieved ops/s. */
export async function timeOps(
  n: number,
  op: (i: number) => Promise<unknown>,
): Promise<{ latencies: number[]; opsPerSec: number }> {
  const latencies: number[] = [];
  const start = performance.now();
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await op(i);
    latencies.push(performance.now() - t0);
  }
  return { latencies, opsPerSec: (n * 1000) / (performance.now() - start) };
}

/** Formats a number with `digits` decimals, or an em dash when not finite. */
export function fmt(value: number, digits = 2): string {
  return Number.isFinite(value) ? value.toFixed(digits) : '—';
}

/** A ratio `a / b` formatted as `1.23×`. */
export function ratio(a: number, b: number, digits = 2): string {
  return Number.isFinite(a / b) ? `${(a / b).toFixed(digits)}×` : '—';
}

/** A Markdown table, ready to paste into a README. */
export function markdownTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const line = (cells: readonly string[]) => `| ${cells.join(' | ')} |`;
  return [line(header), `|${header.map(() => '---').join('|')}|`, ...rows.map(line)].join('\n');
}

/** Mean nanoseconds per call of `op` over `n` sequential calls, after `warmup` untimed calls (default min(100, n)). */
export async function nsPerOp(
  n: number,
  op: () => Promise<unknown> | unknown,
  warmup = Math.min(100, n),
): Promise<number> {
  for (let i = 0; i < warmup; i++) await op();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) await op();
  return Number(process.hrtime.bigint() - t0) / n;
}

import { describe, expect, it } from 'vitest';
import { markdownTable, median, percentile, ratio, summarize, timeOps } from '../src/bench/index.js';

describe('bench helpers', () => {
  it('percentiles are nearest-rank', () => {
    const xs = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(xs, 50)).toBe(50);
    expect(percentile(xs, 99)).toBe(99);
    expect(percentile(xs, 100)).toBe(100);
    expect(percentile([], 50)).toBeNaN();
    expect(median([3, 1, 2])).toBe(2);
  });

  it('summarize, ratio, table and timeOps', async () => {
    expect(summarize([4, 1, 3, 2])).toMatchObject({ count: 4, mean: 2.5, p50: 2, max: 4 });
    expect(ratio(3, 2)).toBe('1.50×');
    expect(markdownTable(['a', 'b'], [['1', '2']])).toBe('| a | b |\n|---|---|\n| 1 | 2 |');
    const r = await timeOps(5, async () => {});
    expect(r.latencies).toHaveLength(5);
    expect(r.opsPerSec).toBeGreaterThan(0);
  });
});

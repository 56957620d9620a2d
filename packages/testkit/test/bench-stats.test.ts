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

describe('lock benchmark harness', () => {
  it('runs every scenario for every peer and tabulates them (memory locks)', async () => {
    const { createMemoryLock, MemoryLockStore } = await import('@switchyard/core');
    const { distributedLockPeer, lockBenchTable, runLockBench } = await import('../src/bench/index.js');
    const store = new MemoryLockStore();
    let commands = 0;
    const counted = createMemoryLock({ store });
    const peers = [
      distributedLockPeer('switchyard memory', counted),
      {
        name: 'peer: memory (counted)',
        async lock(key: string) {
          commands++;
          const lease = await counted.acquire(key);
          return async () => {
            commands++;
            return lease.release();
          };
        },
      },
    ];
    const results = await runLockBench({
      peers,
      floor: { name: 'noop', run: async () => {} },
      commands: () => commands,
      rounds: 1,
      uncontendedOps: 100,
      warmup: 10,
      contendedMs: 100,
      workers: 4,
      handOffs: 5,
    });
    expect(results.map((r) => r.name)).toEqual(['switchyard memory', 'peer: memory (counted)']);
    for (const r of results) {
      expect(r.uncontended.opsPerSec).toBeGreaterThan(0);
      expect(r.contended.opsPerSec).toBeGreaterThan(0);
      expect(r.contended.starved).toBe(0);
      expect(r.handOff.p50).toBeGreaterThanOrEqual(0);
    }
    expect(results[1]!.uncontended.calls).toBeCloseTo(2, 5);
    const table = lockBenchTable(results, { floorName: 'noop' });
    expect(table.split('\n')).toHaveLength(4);
    expect(table).toContain('| switchyard memory |');
    await counted.close();
  });
});

import { fmt } from '@switchyard/testkit/bench';
import { LRUCache } from 'lru-cache';
import { createCache } from '../src/index.js';
import { scanPollutedTrace, zipfTrace } from './traces/zipf.js';

const UNIVERSE = 100_000;

/** Hit ratios of lru-cache and of our cache (W-TinyLFU L1, through `getOrSet`) on seeded traces. */
export async function hitRatios(): Promise<string[][]> {
  const traces: [string, string[]][] = [
    ['Zipf(0.9), 100 k keys, 1 M requests', zipfTrace(UNIVERSE, 0.9, 1_000_000)],
    [
      'Zipf(0.9) + a 2 000-key scan every 1 000 requests',
      scanPollutedTrace(UNIVERSE, 0.9, 500_000, 1000, 2000),
    ],
  ];
  const rows: string[][] = [];
  for (const [name, trace] of traces) {
    for (const share of [0.01, 0.1]) {
      const size = UNIVERSE * share;
      const lru = new LRUCache<string, number>({ max: size });
      let lruHits = 0;
      for (const key of trace) {
        if (lru.get(key) !== undefined) lruHits++;
        else lru.set(key, 1);
      }
      const cache = createCache({ l1: { maxEntries: size }, ttl: Number.POSITIVE_INFINITY, earlyRefresh: 0 });
      const load = () => 1;
      for (const key of trace) await cache.getOrSet(key, load);
      const ours = cache.stats().namespaces['']!.hits[0]! / trace.length;
      await cache.close();
      const lruRatio = lruHits / trace.length;
      rows.push([
        name,
        `${share * 100} % (${size})`,
        `${fmt(lruRatio * 100)} %`,
        `${fmt(ours * 100)} %`,
        `${ours >= lruRatio ? '+' : ''}${fmt((ours - lruRatio) * 100)} points`,
      ]);
    }
  }
  return rows;
}

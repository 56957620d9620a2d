/**
 * Bytes allocated per pick, per picker (young-generation growth over a burst of picks, with the
 * semi-space large enough that no scavenge runs inside the burst). Run in its own process:
 *   node --expose-gc --max-semi-space-size=64 --min-semi-space-size=64 --import tsx/esm ...
 * (the `pnpm bench:alloc` script). Prints JSON lines `{ picker, bytesPerPick }`.
 */
import { getHeapSpaceStatistics } from 'node:v8';
import type { PickContext, PickerBuilder, PickerBuildOptions, ServiceInstance } from '@switchyard/core';
import { normalizeInstance } from '@switchyard/core';
import {
  boundedLoadPicker,
  jumpHashPicker,
  leastRequestPicker,
  maglevPicker,
  peakEwmaPicker,
  randomPicker,
  rendezvousPicker,
  ringHashPicker,
  roundRobinPicker,
  smoothWeightedRoundRobinPicker,
  weightedRandomPicker,
} from '../src/index.js';

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with --expose-gc');

function newSpaceUsed(): number {
  for (const s of getHeapSpaceStatistics()) if (s.space_name === 'new_space') return s.space_used_size;
  return 0;
}

const hosts = (weighted: boolean): ServiceInstance[] =>
  Array.from({ length: 100 }, (_, i) =>
    normalizeInstance('bench', {
      id: `host-${i}`,
      service: 'svc',
      address: `10.0.0.${i}`,
      port: 80,
      weight: weighted ? 1 + (i % 4) : 1,
    }),
  );

export function bytesPerPick(builder: PickerBuilder, weighted: boolean, keyed: boolean): number {
  const inst = hosts(weighted);
  const load = new Int32Array(inst.length);
  const latency = new Float64Array(inst.length).fill(5);
  const options: PickerBuildOptions = {
    loadOf: (_, i) => load[i] as number,
    latencyOf: (_, i) => latency[i] as number,
    isEligible: () => true,
  };
  const picker = builder(inst, options);
  const contexts: PickContext[] = Array.from({ length: 1024 }, (_, i) => ({ key: `user:${i}` }));
  const N = 200_000;
  let sink = 0;
  const run = (n: number) => {
    for (let i = 0; i < n; i++) if (picker.pick(keyed ? contexts[i & 1023] : undefined)) sink++;
  };
  for (let r = 0; r < 5; r++) run(N); // warm up and optimise
  let best = Number.POSITIVE_INFINITY;
  for (let r = 0; r < 5; r++) {
    gc?.();
    const before = newSpaceUsed();
    run(N);
    const after = newSpaceUsed();
    if (after >= before) best = Math.min(best, (after - before) / N);
  }
  if (sink < 0) console.log(sink);
  return best;
}

const PICKERS: [string, () => PickerBuilder, boolean, boolean][] = [
  ['round-robin', roundRobinPicker, false, false],
  ['smooth-weighted-rr', smoothWeightedRoundRobinPicker, true, false],
  ['random', randomPicker, false, false],
  ['random (weighted)', randomPicker, true, false],
  ['weighted-random', weightedRandomPicker, true, false],
  ['least-request', leastRequestPicker, false, false],
  ['least-request (weighted)', leastRequestPicker, true, false],
  ['peak-ewma', peakEwmaPicker, false, false],
  ['peak-ewma (weighted)', peakEwmaPicker, true, false],
  ['ring-hash', ringHashPicker, false, true],
  ['maglev', maglevPicker, false, true],
  ['rendezvous', rendezvousPicker, false, true],
  ['jump-hash', jumpHashPicker, false, true],
  ['bounded-load', boundedLoadPicker, false, true],
];

for (const [name, make, weighted, keyed] of PICKERS) {
  console.log(JSON.stringify({ picker: name, bytesPerPick: bytesPerPick(make(), weighted, keyed) }));
}

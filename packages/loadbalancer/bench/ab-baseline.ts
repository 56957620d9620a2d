/**
 * Before/after pick cost in one run: the pickers of a baseline checkout (its `src/index.ts`, e.g. a
 * `git archive` of main) against this tree's, interleaved in the same child process (7 alternating
 * timed rounds each, best kept), so machine load hits both sides alike.
 *   tsx --conditions=switchyard-source bench/ab-baseline.ts /path/to/baseline/packages/loadbalancer/src/index.ts
 * ONLY=ring-hash,maglev,jump-hash,bounded-load runs just those rows.
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { PickContext, Picker, PickerBuilder, ServiceInstance } from '@switchyard/core';
import { normalizeInstance } from '@switchyard/core';

type Lib = Record<string, (config?: object) => PickerBuilder>;
const PICKERS: [string, string, boolean, boolean][] = [
  ['round-robin', 'roundRobinPicker', false, false],
  ['smooth-weighted-rr (weights 1..4)', 'smoothWeightedRoundRobinPicker', true, false],
  ['random', 'randomPicker', false, false],
  ['weighted-random (weights 1..4)', 'weightedRandomPicker', true, false],
  ['least-request P2C', 'leastRequestPicker', false, false],
  ['least-request P2C (weights 1..4)', 'leastRequestPicker', true, false],
  ['peak-EWMA P2C', 'peakEwmaPicker', false, false],
  ['ring-hash', 'ringHashPicker', false, true],
  ['maglev', 'maglevPicker', false, true],
  ['rendezvous', 'rendezvousPicker', false, true],
  ['jump-hash', 'jumpHashPicker', false, true],
  ['bounded-load', 'boundedLoadPicker', false, true],
];

const keys: PickContext[] = Array.from({ length: 50_000 }, (_, i) => ({
  key: `user:${i}:${(i * 2654435761) >>> 0}`,
}));

function build(lib: Lib, factory: string, n: number, weighted: boolean): Picker {
  const inst: ServiceInstance[] = Array.from({ length: n }, (_, i) =>
    normalizeInstance('bench', {
      id: `host-${i}`,
      service: 'svc',
      address: `10.0.${i >> 8}.${i & 255}`,
      port: 80,
      weight: weighted ? 1 + (i % 4) : 1,
    }),
  );
  const load = new Float64Array(n).map((_, i) => i % 7);
  const lat = new Float64Array(n).map((_, i) => 5 + (i % 11));
  return (lib[factory] as (c?: object) => PickerBuilder)()(inst, {
    isEligible: () => true,
    loadOf: (_, i) => load[i] as number,
    latencyOf: (_, i) => lat[i] as number,
  });
}

// Two copies of the timing loop so each side keeps its own (monomorphic) call-site feedback.
function timeA(p: Picker, keyed: boolean, iters: number): number {
  let sink = 0;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < iters; i++) if (p.pick(keyed ? keys[i % 50_000] : undefined)) sink++;
  const ns = Number(process.hrtime.bigint() - t0) / iters;
  return sink < 0 ? 0 : ns;
}
function timeB(p: Picker, keyed: boolean, iters: number): number {
  let sink = 0;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < iters; i++) if (p.pick(keyed ? keys[i % 50_000] : undefined)) sink++;
  const ns = Number(process.hrtime.bigint() - t0) / iters;
  return sink < 0 ? 0 : ns;
}

if (process.argv[2] === 'child') {
  const [, , , baseline, factory, n, weighted, keyed] = process.argv;
  const before = (await import(pathToFileURL(baseline as string).href)) as Lib;
  const after = (await import('../src/index.js')) as unknown as Lib;
  const a = build(before, factory as string, Number(n), weighted === '1');
  const b = build(after, factory as string, Number(n), weighted === '1');
  const k = keyed === '1';
  const iters = 300_000;
  timeA(a, k, iters);
  timeB(b, k, iters);
  let bestA = Number.POSITIVE_INFINITY;
  let bestB = Number.POSITIVE_INFINITY;
  for (let r = 0; r < 7; r++) {
    bestA = Math.min(bestA, timeA(a, k, iters));
    bestB = Math.min(bestB, timeB(b, k, iters));
  }
  console.log(JSON.stringify({ before: bestA, after: bestB }));
  process.exit(0);
}

const baseline = process.argv[2];
if (!baseline) throw new Error('usage: ab-baseline.ts <baseline src/index.ts>');
console.log('\n## Pick cost before/after (ns/op, best of 7 interleaved rounds in one process)\n');
console.log('| picker | hosts | before | after | after / before |');
console.log('|---|---:|---:|---:|---:|');
// ONLY=ring-hash,maglev limits the run to pickers whose name starts with one of the prefixes.
const only = process.env.ONLY?.split(',').filter(Boolean);
for (const [name, factory, weighted, keyed] of PICKERS) {
  if (only && !only.some((prefix) => name.startsWith(prefix))) continue;
  for (const n of [10, 100, 1000]) {
    const out = execFileSync(
      process.execPath,
      [
        ...process.execArgv,
        fileURLToPath(import.meta.url),
        'child',
        baseline,
        factory,
        String(n),
        weighted ? '1' : '0',
        keyed ? '1' : '0',
      ],
      { encoding: 'utf8' },
    );
    const r = JSON.parse(out.trim().split('\n').at(-1) as string) as { before: number; after: number };
    console.log(
      `| ${name} | ${n} | ${r.before.toFixed(1)} | ${r.after.toFixed(1)} | ${(r.after / r.before).toFixed(2)} |`,
    );
  }
}

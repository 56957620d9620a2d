/**
 * Load-balancer benchmark: picker ns/op, ring-hash lookups vs npm peers, balance and disruption
 * of the consistent-hash pickers, and a latency simulation with one slow backend.
 * Run: pnpm --filter @switchyard/loadbalancer bench   (QUICK=1 for a shorter run)
 */

import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { PickContext, PickerBuilder, ServiceInstance } from '@switchyard/core';
import { normalizeInstance } from '@switchyard/core';
import ConsistentHash from 'consistent-hash';
import HashRing from 'hashring';
import { EndpointState } from '../src/balancer/endpoint-state.js';
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
import { maglevTableSize } from '../src/pickers/maglev.js';

const QUICK = process.env.QUICK === '1';
let sink = 0;

function hosts(n: number, weight: (i: number) => number = () => 1): ServiceInstance[] {
  return Array.from({ length: n }, (_, i) =>
    normalizeInstance('bench', {
      id: `host-${i}`,
      service: 'svc',
      address: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
      port: 8080,
      weight: weight(i),
    }),
  );
}

function time(iterations: number, fn: (i: number) => unknown): number {
  const warm = Math.min(20_000, iterations);
  for (let i = 0; i < warm; i++) if (fn(i)) sink++;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) if (fn(i)) sink++;
  return Number(process.hrtime.bigint() - t0) / iterations;
}

const KEYS = QUICK ? 50_000 : 200_000;
const keys = Array.from({ length: KEYS }, (_, i) => `user:${i}:${(i * 2654435761) >>> 0}`);
const contexts: PickContext[] = keys.map((key) => ({ key }));
const fmt = (x: number, d = 1) => x.toFixed(d);

// ---------------------------------------------------------------- 1. ns/op per picker
const pickers: [string, () => PickerBuilder, boolean][] = [
  ['round-robin', () => roundRobinPicker(), false],
  ['smooth-weighted-rr (weights 1..4)', () => smoothWeightedRoundRobinPicker(), false],
  ['random', () => randomPicker(), false],
  ['weighted-random (alias, weights 1..4)', () => weightedRandomPicker(), false],
  ['least-request P2C', () => leastRequestPicker(), false],
  ['peak-EWMA P2C', () => peakEwmaPicker(), false],
  ['ring-hash (160 vnodes)', () => ringHashPicker(), true],
  ['maglev (default table)', () => maglevPicker(), true],
  ['rendezvous (weighted)', () => rendezvousPicker(), true],
  ['jump-hash', () => jumpHashPicker(), true],
  ['bounded-load (ε=0.25)', () => boundedLoadPicker(), true],
];

/** Measures one picker in a child process so call sites stay monomorphic and runs do not pollute each other. */
function measureInChild(name: string, n: number): { ns: number; build: number } {
  const out = execFileSync(
    process.execPath,
    [...process.execArgv, fileURLToPath(import.meta.url), 'cost', name, String(n)],
    {
      env: { ...process.env },
      encoding: 'utf8',
    },
  );
  return JSON.parse(out.trim().split('\n').at(-1) as string) as { ns: number; build: number };
}

function measureHere(name: string, n: number): { ns: number; build: number } {
  const entry = pickers.find((p) => p[0] === name);
  if (!entry) throw new Error(`unknown picker ${name}`);
  const [, make, hashed] = entry;
  const inst = hosts(n, name.includes('weights') ? (i) => 1 + (i % 4) : () => 1);
  const load = new Float64Array(n).map((_, i) => i % 7);
  const lat = new Float64Array(n).map((_, i) => 5 + (i % 11));
  const eligible = new Uint8Array(n).fill(1);
  const b0 = performance.now();
  const p = make()(inst, {
    isEligible: (_, i) => eligible[i] === 1,
    loadOf: (_, i) => load[i] as number,
    latencyOf: (_, i) => lat[i] as number,
  });
  const build = performance.now() - b0;
  const run = (iters: number) =>
    hashed
      ? time(iters, (i) => p.pick(contexts[i % KEYS]) !== undefined)
      : time(iters, () => p.pick() !== undefined);
  // Calibrate so each timed run takes about 0.25 s (0.08 s with QUICK=1).
  const probe = run(10_000);
  const iters = Math.max(20_000, Math.min(2_000_000, Math.round((QUICK ? 0.08e9 : 0.25e9) / probe)));
  let best = Number.POSITIVE_INFINITY;
  for (let r = 0; r < 3; r++) best = Math.min(best, run(iters));
  return { ns: best, build };
}

if (process.argv[2] === 'cost') {
  console.log(JSON.stringify(measureHere(process.argv[3] as string, Number(process.argv[4]))));
  process.exit(0);
}

console.log(
  `\n## Picker cost (ns/op, best of 3 runs in a fresh process; ${KEYS} distinct keys for hash pickers, key hashing included)\n`,
);
console.log('| picker | 10 hosts | 100 hosts | 1000 hosts | build @1000 (ms) |');
console.log('|---|---:|---:|---:|---:|');
for (const [name] of pickers) {
  const r = [10, 100, 1000].map((n) => measureInChild(name, n));
  console.log(
    `| ${name} | ${r.map((x) => fmt(x.ns)).join(' | ')} | ${fmt((r[2] as { build: number }).build, 2)} |`,
  );
}

// ---------------------------------------------------------------- 1b. full balancer path
{
  const { createBalancer } = await import('../src/index.js');
  const { AsyncChannel } = await import('@switchyard/core');
  console.log('\n## Full balancer path: pick + report (100 hosts, breakers + outlier ejection on, ns/op)\n');
  console.log('| picker | pick + report |');
  console.log('|---|---:|');
  for (const [name, make] of [
    ['round-robin', () => roundRobinPicker()],
    ['least-request P2C (default)', () => leastRequestPicker()],
    ['peak-EWMA P2C', () => peakEwmaPicker()],
    ['maglev (keyed)', () => maglevPicker()],
  ] as [string, () => PickerBuilder][]) {
    const inst = hosts(100);
    const ch = new AsyncChannel<never>();
    ch.push({
      snapshot: { service: 'svc', instances: inst, revision: 1 },
      diff: { added: inst, removed: [], updated: [] },
      reason: 'initial',
      stale: false,
    } as never);
    const lb = createBalancer({ discovery: { watch: () => ch }, service: 'svc', picker: make() });
    await lb.ready();
    const keyed = name.includes('keyed');
    const ns = time(QUICK ? 200_000 : 1_000_000, (i) => {
      const h = lb.pick(keyed ? contexts[i % KEYS] : undefined);
      h.report(true, 5);
      return true;
    });
    console.log(`| ${name} | ${fmt(ns)} |`);
    await lb.close();
    ch.close();
  }
}

// ---------------------------------------------------------------- 2. ring-hash lookups vs npm peers
console.log(
  `\n## Consistent-hash lookup vs npm peers (ns/op over ${KEYS} distinct keys; hot = 1000 keys repeated)\n`,
);
console.log('| library | 10 hosts | 100 hosts | hot @100 | vs ours (100 hosts) |');
console.log('|---|---:|---:|---:|---:|');
const peerRows: [string, (n: number) => (key: string) => unknown][] = [
  [
    '@switchyard ringHashPicker',
    (n) => {
      const p = ringHashPicker()(hosts(n));
      return (key) => p.pick({ key });
    },
  ],
  [
    '@switchyard maglevPicker',
    (n) => {
      const p = maglevPicker()(hosts(n));
      return (key) => p.pick({ key });
    },
  ],
  [
    'hashring 3.2 (ketama MD5, LRU 5000)',
    (n) => {
      const r = new HashRing(hosts(n).map((h) => h.id));
      return (key) => r.get(key);
    },
  ],
  [
    'consistent-hash 1.2',
    (n) => {
      const c = new ConsistentHash();
      for (const h of hosts(n)) c.add(h.id);
      return (key) => c.get(key);
    },
  ],
];
const peerResults = new Map<string, number>();
for (const [name, make] of peerRows) {
  const r10 = make(10);
  const r100 = make(100);
  const iters = name.startsWith('hashring') ? KEYS : KEYS * 2;
  const ns10 = time(iters, (i) => r10(keys[i % KEYS] as string) !== undefined);
  const ns100 = time(iters, (i) => r100(keys[i % KEYS] as string) !== undefined);
  const hot = time(iters, (i) => r100(keys[i % 1000] as string) !== undefined);
  peerResults.set(name, ns100);
  const ours = peerResults.get('@switchyard ringHashPicker') ?? ns100;
  console.log(`| ${name} | ${fmt(ns10)} | ${fmt(ns100)} | ${fmt(hot)} | ${fmt(ns100 / ours, 1)}× |`);
}

// ---------------------------------------------------------------- 3. balance and disruption
const BAL_KEYS = QUICK ? 200_000 : 1_000_000;
const balKeys = Array.from({ length: BAL_KEYS }, (_, i) => ({ key: `k:${i}` }));
console.log(`\n## Balance and disruption (${BAL_KEYS} keys)\n`);
console.log(
  '| picker | hosts | max/mean | stdev % | keys moved removing 1 host | ideal (its share) | ratio | rebuilt in another order: moved |',
);
console.log('|---|---:|---:|---:|---:|---:|---:|---:|');
for (const [name, make] of [
  ['ring-hash', () => ringHashPicker()],
  ['maglev', () => maglevPicker()],
  ['rendezvous', () => rendezvousPicker()],
  ['jump-hash (last removed)', () => jumpHashPicker()],
] as [string, () => PickerBuilder][]) {
  for (const n of [10, 100]) {
    const inst = hosts(n);
    const p = make()(inst);
    const owner = new Int32Array(BAL_KEYS);
    const count = new Float64Array(n);
    const index = new Map(inst.map((h, i) => [h.id, i]));
    for (let k = 0; k < BAL_KEYS; k++) {
      const i = index.get(p.pick(balKeys[k])?.id ?? '') ?? -1;
      owner[k] = i;
      count[i] = (count[i] as number) + 1;
    }
    const mean = BAL_KEYS / n;
    let max = 0;
    let sq = 0;
    for (const c of count) {
      max = Math.max(max, c);
      sq += (c - mean) ** 2;
    }
    const stdev = (Math.sqrt(sq / n) / mean) * 100;
    const removed = name.startsWith('jump') ? n - 1 : Math.floor(n / 2);
    const after = make()(inst.filter((_, i) => i !== removed));
    const reordered = make()([...inst].reverse());
    let moved = 0;
    let rebuiltDiff = 0;
    for (let k = 0; k < BAL_KEYS; k++) {
      const before = inst[owner[k] as number]?.id;
      if (after.pick(balKeys[k])?.id !== before) moved++;
      if (reordered.pick(balKeys[k])?.id !== before) rebuiltDiff++;
    }
    const ideal = (count[removed] as number) / BAL_KEYS;
    console.log(
      `| ${name} | ${n} | ${fmt(max / mean, 3)} | ${fmt(stdev, 2)} | ${fmt((moved / BAL_KEYS) * 100, 2)} % | ${fmt(ideal * 100, 2)} % (1/n = ${fmt(100 / n, 2)} %) | ${fmt(moved / BAL_KEYS / ideal, 2)} | ${fmt((rebuiltDiff / BAL_KEYS) * 100, 2)} % |`,
    );
  }
}

// ---------------------------------------------------------------- 3b. Maglev table size vs disruption
console.log('\n## Maglev: table size vs disruption (middle host removed)\n');
console.log('| hosts | table | keys moved | its share | ratio | build (ms) |');
console.log('|---:|---:|---:|---:|---:|---:|');
for (const n of [100, 200, 500]) {
  for (const tableSize of [65537, undefined]) {
    const inst = hosts(n);
    const make = () => maglevPicker(tableSize ? { tableSize } : {});
    const t0 = performance.now();
    const p = make()(inst);
    const buildMs = performance.now() - t0;
    const removed = Math.floor(n / 2);
    const after = make()(inst.filter((_, i) => i !== removed));
    let moved = 0;
    let own = 0;
    for (let k = 0; k < BAL_KEYS; k++) {
      const before = p.pick(balKeys[k])?.id;
      if (before === inst[removed]?.id) own++;
      if (after.pick(balKeys[k])?.id !== before) moved++;
    }
    console.log(
      `| ${n} | ${tableSize ?? `default (${maglevTableSize(n)})`} | ${fmt((moved / BAL_KEYS) * 100, 2)} % | ${fmt((own / BAL_KEYS) * 100, 2)} % | ${fmt(moved / own, 2)} | ${fmt(buildMs, 1)} |`,
    );
  }
}

// ---------------------------------------------------------------- 4. slow-backend simulation
/**
 * Discrete-event simulation: 10 backends, each 4 workers with exponential service time (mean 5 ms;
 * backend 0 mean 50 ms = 10× slower). Poisson arrivals at 55 % of total capacity. The picker sees
 * in-flight counts and a peak-EWMA latency fed by completions, exactly as inside the balancer.
 */
function simulate(builder: PickerBuilder, seed: number) {
  let s = seed >>> 0;
  const rnd = () => {
    s = (s + 0x6d2b79f5) | 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const N = 10;
  const WORKERS = 4;
  const mean = Array.from({ length: N }, (_, i) => (i === 0 ? 50 : 5));
  const capacity = mean.reduce((a, m) => a + WORKERS / m, 0);
  const rate = 0.55 * capacity;
  const inst = hosts(N);
  const states = inst.map((h) => new EndpointState(h, undefined, () => {}));
  let now = 0;
  const p = builder(inst, {
    random: rnd,
    loadOf: (_, i) => (states[i] as EndpointState).inFlight,
    latencyOf: (_, i) => (states[i] as EndpointState).latency(now, 10_000),
  });
  const busy = new Int32Array(N);
  const queues: number[][] = Array.from({ length: N }, () => []);
  const heapT: number[] = [];
  const heapB: number[] = [];
  const heapS: number[] = [];
  const push = (t: number, b: number, st: number) => {
    let i = heapT.length;
    heapT.push(t);
    heapB.push(b);
    heapS.push(st);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if ((heapT[parent] as number) <= t) break;
      heapT[i] = heapT[parent] as number;
      heapB[i] = heapB[parent] as number;
      heapS[i] = heapS[parent] as number;
      i = parent;
    }
    heapT[i] = t;
    heapB[i] = b;
    heapS[i] = st;
  };
  const pop = () => {
    const top = [heapT[0] as number, heapB[0] as number, heapS[0] as number] as const;
    const t = heapT.pop() as number;
    const b = heapB.pop() as number;
    const st = heapS.pop() as number;
    const n = heapT.length;
    if (n > 0) {
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= n) break;
        const r = l + 1;
        const c = r < n && (heapT[r] as number) < (heapT[l] as number) ? r : l;
        if ((heapT[c] as number) >= t) break;
        heapT[i] = heapT[c] as number;
        heapB[i] = heapB[c] as number;
        heapS[i] = heapS[c] as number;
        i = c;
      }
      heapT[i] = t;
      heapB[i] = b;
      heapS[i] = st;
    }
    return top;
  };
  const service = (b: number) => -Math.log(1 - rnd()) * (mean[b] as number);
  const REQUESTS = QUICK ? 60_000 : 200_000;
  const latencies = new Float64Array(REQUESTS);
  const toSlow = { n: 0 };
  let done = 0;
  let nextArrival = 0;
  let arrived = 0;
  while (done < REQUESTS) {
    if (arrived < REQUESTS && (heapT.length === 0 || nextArrival <= (heapT[0] as number))) {
      now = nextArrival;
      const picked = p.pick() as ServiceInstance;
      const b = Number(picked.id.slice(5));
      if (b === 0) toSlow.n++;
      (states[b] as EndpointState).inFlight++;
      if ((busy[b] as number) < WORKERS) {
        busy[b] = (busy[b] as number) + 1;
        push(now + service(b), b, now);
      } else (queues[b] as number[]).push(now);
      arrived++;
      nextArrival = now - Math.log(1 - rnd()) / rate;
    } else {
      const [t, b, start] = pop();
      now = t;
      const st = states[b] as EndpointState;
      st.inFlight--;
      st.observeLatency(t - start, t, 10_000);
      latencies[done++] = t - start;
      const q = queues[b] as number[];
      if (q.length > 0) push(now + service(b), b, q.shift() as number);
      else busy[b] = (busy[b] as number) - 1;
    }
  }
  latencies.sort();
  const pct = (x: number) => latencies[Math.min(REQUESTS - 1, Math.floor(x * REQUESTS))] as number;
  return { p50: pct(0.5), p99: pct(0.99), p999: pct(0.999), slowShare: toSlow.n / REQUESTS };
}

console.log(
  '\n## Simulation: 10 backends (4 workers each, mean 5 ms), backend 0 is 10× slower, load 55 % of capacity\n',
);
console.log('| picker | p50 (ms) | p99 (ms) | p99.9 (ms) | share sent to the slow backend |');
console.log('|---|---:|---:|---:|---:|');
for (const [name, make] of [
  ['round-robin', () => roundRobinPicker()],
  ['random', () => randomPicker()],
  ['least-request P2C', () => leastRequestPicker()],
  ['peak-EWMA P2C', () => peakEwmaPicker()],
] as [string, () => PickerBuilder][]) {
  const r = simulate(make(), 42);
  console.log(
    `| ${name} | ${fmt(r.p50)} | ${fmt(r.p99)} | ${fmt(r.p999)} | ${fmt(r.slowShare * 100, 2)} % |`,
  );
}
// ---------------------------------------------------------------- 5. allocation per pick
{
  const out = execFileSync(
    process.execPath,
    [
      '--expose-gc',
      '--max-semi-space-size=64',
      '--min-semi-space-size=64',
      '--conditions=switchyard-source',
      '--import',
      'tsx/esm',
      fileURLToPath(new URL('./pick-allocation.ts', import.meta.url)),
    ],
    { encoding: 'utf8' },
  );
  console.log('\n## Allocation per pick (bytes, 100 hosts, young-generation growth over 200,000 picks)\n');
  console.log('| picker | B/pick |');
  console.log('|---|---:|');
  for (const line of out.trim().split('\n')) {
    const r = JSON.parse(line) as { picker: string; bytesPerPick: number };
    console.log(`| ${r.picker} | ${fmt(r.bytesPerPick, 2)} |`);
  }
}

console.log(`\n(node ${process.version}, sink ${sink % 10})`);

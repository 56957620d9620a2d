import type { AcquireOptions, DistributedLock } from '@switchyard/core';
import { markdownTable, median, percentile } from './stats.js';

/**
 * The shared lock benchmark: the same scenarios, with the same method, for every lock backend and
 * the peer libraries a user would pick instead, so lock-redis and lock-etcd numbers compare.
 * Uncontended pairs of every peer alternate block by block in one loop (with the floor after each
 * block); the contended and hand-off runs go peer after peer; rounds repeat all of it and each figure
 * is the median over rounds, so a burst of load from elsewhere does not land on one peer only.
 */

/** One lock implementation under test. */
export interface LockBenchPeer {
  readonly name: string;
  /** Acquires `key`, waiting as long as needed; resolves to the release function. */
  lock(key: string): Promise<() => Promise<unknown>>;
  close?(): Promise<unknown>;
}

/** A `DistributedLock` (any switchyard backend) as a peer. */
export function distributedLockPeer(
  name: string,
  lock: Pick<DistributedLock, 'acquire' | 'close'>,
  options: AcquireOptions = { ttl: 10_000 },
): LockBenchPeer {
  return {
    name,
    async lock(key) {
      const lease = await lock.acquire(key, options);
      return () => lease.release();
    },
    close: () => lock.close(),
  };
}

export interface LockBenchOptions {
  peers: readonly LockBenchPeer[];
  /**
   * The physical floor of an acquire+release pair, run interleaved with the uncontended pairs
   * (e.g. two PINGs on Redis, two Raft writes on etcd).
   */
  floor: { readonly name: string; run(): Promise<unknown> };
  /** Commands sent so far by the peers' connections (not the floor's), for calls per operation. */
  commands?: () => number;
  /** Rounds over all peers (default 3). */
  rounds?: number;
  /**
   * Sequential acquire+release pairs per peer and round (default 3 000), in blocks of `block`
   * (default 50); the peers' blocks and the floor's alternate in one loop.
   */
  uncontendedOps?: number;
  block?: number;
  /** Untimed pairs before each uncontended run (default 200). */
  warmup?: number;
  /** Contended run: `workers` (default 32) loop on one key for `contendedMs` (default 3 000). */
  contendedMs?: number;
  workers?: number;
  /** Releases to one waiting acquirer per round (default 300). */
  handOffs?: number;
  /** Called after each scenario of each peer (progress on stderr, for long runs). */
  onProgress?: (message: string) => void;
}

export interface LockBenchResult {
  readonly name: string;
  readonly uncontended: {
    readonly opsPerSec: number;
    readonly p50: number;
    readonly p99: number;
    /** p50 of the floor op measured in the same interleaved blocks. */
    readonly floorP50: number;
    /** p50(pair) / p50(floor), same run. */
    readonly ratio: number;
    readonly calls: number;
  };
  readonly contended: {
    readonly opsPerSec: number;
    readonly calls: number;
    readonly p99wait: number;
    /** Most / fewest acquisitions of one worker. */
    readonly fairness: number;
    /** Workers that never acquired (worst round). */
    readonly starved: number;
  };
  /** From `release()` to the waiter holding the lock, ms. */
  readonly handOff: { readonly p50: number; readonly p99: number };
}

type Round = Omit<LockBenchResult, 'name'>;

/** Runs every scenario for every peer, interleaved round by round; medians over rounds. */
export async function runLockBench(o: LockBenchOptions): Promise<LockBenchResult[]> {
  const rounds = o.rounds ?? 3;
  const counter = o.commands ?? (() => Number.NaN);
  const byPeer = new Map<string, Round[]>(o.peers.map((p) => [p.name, []]));
  for (let r = 0; r < rounds; r++) {
    const uncontended = await runUncontended(o.peers, o, counter);
    o.onProgress?.(`round ${r + 1}: uncontended (every peer, interleaved)`);
    for (const [i, peer] of o.peers.entries()) {
      const contended = await runContended(peer, o, counter);
      o.onProgress?.(`round ${r + 1}: ${peer.name} contended`);
      const handOff = await runHandOff(peer, o);
      o.onProgress?.(`round ${r + 1}: ${peer.name} hand-off`);
      byPeer.get(peer.name)!.push({ uncontended: uncontended[i]!, contended, handOff });
    }
  }
  return o.peers.map((peer) => {
    const rs = byPeer.get(peer.name)!;
    const med = (pick: (x: Round) => number) => median(rs.map(pick));
    return {
      name: peer.name,
      uncontended: {
        opsPerSec: med((x) => x.uncontended.opsPerSec),
        p50: med((x) => x.uncontended.p50),
        p99: med((x) => x.uncontended.p99),
        floorP50: med((x) => x.uncontended.floorP50),
        ratio: med((x) => x.uncontended.ratio),
        calls: med((x) => x.uncontended.calls),
      },
      contended: {
        opsPerSec: med((x) => x.contended.opsPerSec),
        calls: med((x) => x.contended.calls),
        p99wait: med((x) => x.contended.p99wait),
        fairness: med((x) => x.contended.fairness),
        starved: Math.max(...rs.map((x) => x.contended.starved)),
      },
      handOff: { p50: med((x) => x.handOff.p50), p99: med((x) => x.handOff.p99) },
    };
  });
}

/**
 * Sequential acquire+release pairs, every peer in the same loop: a block of 50 pairs of one peer,
 * then 50 floor ops, then the next peer's block, … so every peer and its floor see the same state
 * of a noisy machine (a load burst lands on all of them, not on one), and each peer's ratio is taken
 * against the floor blocks that ran right after its own.
 */
async function runUncontended(
  peers: readonly LockBenchPeer[],
  o: LockBenchOptions,
  commands: () => number,
): Promise<Round['uncontended'][]> {
  const ops = o.uncontendedOps ?? 3000;
  const block = o.block ?? 50;
  const key = (p: LockBenchPeer) => `bench-u-${p.name}`;
  for (const peer of peers) for (let i = 0; i < (o.warmup ?? 200); i++) await (await peer.lock(key(peer)))();
  const runs = peers.map(() => ({ lat: [] as number[], floor: [] as number[], total: 0, sent: 0 }));
  for (let done = 0; done < ops; done += block) {
    for (const [i, peer] of peers.entries()) {
      const run = runs[i]!;
      const sent0 = commands();
      const t0 = performance.now();
      for (let j = 0; j < block; j++) {
        const s = performance.now();
        await (await peer.lock(key(peer)))();
        run.lat.push(performance.now() - s);
      }
      run.total += performance.now() - t0;
      run.sent += commands() - sent0;
      for (let j = 0; j < block; j++) {
        const s = performance.now();
        await o.floor.run();
        run.floor.push(performance.now() - s);
      }
    }
  }
  return runs.map(({ lat, floor, total, sent }) => {
    lat.sort((a, b) => a - b);
    floor.sort((a, b) => a - b);
    const p50 = percentile(lat, 50);
    const floorP50 = percentile(floor, 50);
    return {
      opsPerSec: (lat.length / total) * 1000,
      p50,
      p99: percentile(lat, 99),
      floorP50,
      ratio: p50 / floorP50,
      calls: sent / lat.length,
    };
  });
}

/** `workers` async workers loop acquire → a token of work (setImmediate) → release on one key. */
async function runContended(peer: LockBenchPeer, o: LockBenchOptions, commands: () => number) {
  const workers = o.workers ?? 32;
  const counts = new Array<number>(workers).fill(0);
  const waits: number[] = [];
  const key = `bench-c-${peer.name}`;
  let stop = false;
  const sent0 = commands();
  const t0 = performance.now();
  const worker = async (i: number) => {
    while (!stop) {
      const s = performance.now();
      const release = await peer.lock(key);
      waits.push(performance.now() - s);
      counts[i]!++;
      await new Promise((r) => setImmediate(r));
      await release();
    }
  };
  const running = Array.from({ length: workers }, (_, i) => worker(i));
  await new Promise((r) => setTimeout(r, o.contendedMs ?? 3000));
  stop = true;
  await Promise.all(running);
  const total = performance.now() - t0;
  const acquisitions = counts.reduce((a, b) => a + b, 0);
  waits.sort((a, b) => a - b);
  return {
    opsPerSec: (acquisitions / total) * 1000,
    calls: (commands() - sent0) / Math.max(1, acquisitions),
    p99wait: percentile(waits, 99),
    fairness: Math.max(...counts) / Math.max(1, Math.min(...counts)),
    starved: counts.filter((c) => c === 0).length,
  };
}

/** A holder releases while one acquirer waits: time from calling release to the waiter holding. */
async function runHandOff(peer: LockBenchPeer, o: LockBenchOptions) {
  const lat: number[] = [];
  const key = `bench-h-${peer.name}`;
  for (let i = 0; i < (o.handOffs ?? 300); i++) {
    const release = await peer.lock(key);
    let got = 0;
    const waiter = peer.lock(key).then((r) => {
      got = performance.now();
      return r;
    });
    await new Promise((r) => setTimeout(r, 2)); // let the waiter start waiting
    const s = performance.now();
    await release();
    const next = await waiter;
    lat.push(got - s);
    await next();
  }
  lat.sort((a, b) => a - b);
  return { p50: percentile(lat, 50), p99: percentile(lat, 99) };
}

const f = (x: number, digits: number) => (Number.isFinite(x) ? x.toFixed(digits) : '—');

/**
 * The results as a Markdown table. `versus`: names of the peers the "vs best peer" column compares
 * contended throughput with (default: every peer whose name does not start with "switchyard").
 */
export function lockBenchTable(
  results: readonly LockBenchResult[],
  options: { floorName?: string; versus?: readonly string[] } = {},
): string {
  const others = results.filter((r) =>
    options.versus ? options.versus.includes(r.name) : !r.name.startsWith('switchyard'),
  );
  const best = others.reduce<LockBenchResult | undefined>(
    (a, b) => (!a || b.contended.opsPerSec > a.contended.opsPerSec ? b : a),
    undefined,
  );
  const floor = options.floorName ?? 'floor';
  return markdownTable(
    [
      'lock',
      'uncont. ops/s',
      'p50 ms',
      'p99 ms',
      `${floor} p50 ms (interleaved)`,
      `p50 / ${floor}`,
      'calls / pair',
      'contended ops/s',
      'vs best peer',
      'calls / acq.',
      'p99 wait ms',
      'fairness max/min',
      'hand-off p50 ms',
      'hand-off p99 ms',
    ],
    results.map((r) => [
      r.name,
      f(r.uncontended.opsPerSec, 0),
      f(r.uncontended.p50, 3),
      f(r.uncontended.p99, 3),
      f(r.uncontended.floorP50, 3),
      f(r.uncontended.ratio, 2),
      f(r.uncontended.calls, 1),
      f(r.contended.opsPerSec, 0),
      best ? f(r.contended.opsPerSec / best.contended.opsPerSec, 2) : '—',
      f(r.contended.calls, 2),
      f(r.contended.p99wait, 1),
      `${f(r.contended.fairness, 1)}${r.contended.starved ? ` (${r.contended.starved} starved)` : ''}`,
      f(r.handOff.p50, 3),
      f(r.handOff.p99, 3),
    ]),
  );
}

/**
 * lock-redis benchmark: our mutex (plain and fair) vs redlock 5 (1 node), redis-semaphore Mutex and a
 * Redis PING loop (the physical floor: one round trip). Everything runs against one throwaway
 * redis-server on loopback, in one process, one run. `pnpm --filter @switchyard/lock-redis bench`
 */
import { fmt, markdownTable, median, percentile } from '@switchyard/testkit/bench';
import { startRedis } from '@switchyard/testkit/servers';
import { Redis } from 'ioredis';
import { Mutex } from 'redis-semaphore';
import Redlock from 'redlock';
import { createRedisLock } from '../src/index.js';

const UNCONTENDED_OPS = Number(process.env.BENCH_OPS ?? 3000);
const CONTENDED_MS = Number(process.env.BENCH_CONTENDED_MS ?? 3000);
const WORKERS = 32;
const HANDOFFS = Number(process.env.BENCH_HANDOFFS ?? 300);

interface Peer {
  name: string;
  /** Acquire `key` (waiting as long as needed), returning the release function. */
  lock(key: string): Promise<() => Promise<unknown>>;
  close(): Promise<void>;
}

const server = await startRedis();
const clients: Redis[] = [];
/** Commands sent by the peers' own connections (not the pub/sub duplicate): round trips per operation. */
let sent = 0;
const newClient = () => {
  const c = new Redis(server.url);
  const send = c.sendCommand.bind(c);
  c.sendCommand = ((...args: Parameters<typeof send>) => {
    sent++;
    return send(...args);
  }) as typeof c.sendCommand;
  clients.push(c);
  return c;
};

function ourPeer(name: string, fair: boolean): Peer {
  const lock = createRedisLock({ client: newClient(), fair, prefix: `bench-${name}:` });
  return {
    name,
    async lock(key) {
      const lease = await lock.acquire(key, { ttl: 10_000 });
      return () => lease.release();
    },
    close: () => lock.close(),
  };
}

function redlockPeer(): Peer {
  const redlock = new Redlock([newClient()], { retryCount: -1, retryDelay: 10, retryJitter: 5 });
  redlock.on('error', () => {});
  return {
    name: 'redlock@5 (retryDelay 10 ms)',
    async lock(key) {
      const l = await redlock.acquire([`bench-redlock:${key}`], 10_000);
      return () => l.release();
    },
    close: async () => {},
  };
}

function semaphorePeer(): Peer {
  const client = newClient();
  return {
    name: 'redis-semaphore Mutex (retry 10 ms)',
    async lock(key) {
      const m = new Mutex(client, `bench-sem:${key}`, {
        lockTimeout: 10_000,
        acquireTimeout: 60_000,
        retryInterval: 10,
        refreshInterval: 0,
      });
      await m.acquire();
      return () => m.release();
    },
    close: async () => {},
  };
}

const BLOCK = 50;
/**
 * Sequential acquire+release pairs, interleaved block by block (50 pairs, then 50 × two PINGs on
 * another connection, and so on) so both sides see the same state of this noisy machine; the ratio
 * is p50(pair) / p50(two PINGs) over the same run.
 */
async function uncontended(peer: Peer) {
  const lat: number[] = [];
  const floor: number[] = [];
  for (let i = 0; i < 200; i++) await (await peer.lock('warm'))(); // warm-up
  let total = 0;
  const sent0 = sent;
  for (let done = 0; done < UNCONTENDED_OPS; done += BLOCK) {
    const t0 = performance.now();
    for (let i = 0; i < BLOCK; i++) {
      const s = performance.now();
      await (await peer.lock('u'))();
      lat.push(performance.now() - s);
    }
    total += performance.now() - t0;
    for (let i = 0; i < BLOCK; i++) {
      const s = performance.now();
      await pingClient.ping();
      await pingClient.ping();
      floor.push(performance.now() - s);
    }
  }
  const calls = (sent - sent0 - 2 * UNCONTENDED_OPS) / UNCONTENDED_OPS;
  lat.sort((a, b) => a - b);
  floor.sort((a, b) => a - b);
  return {
    opsPerSec: (UNCONTENDED_OPS / total) * 1000,
    p50: percentile(lat, 50),
    p99: percentile(lat, 99),
    floor2: percentile(floor, 50),
    ratio: percentile(lat, 50) / percentile(floor, 50),
    calls,
  };
}

const pingClient = newClient();
async function pingFloor(ops = UNCONTENDED_OPS) {
  const c = pingClient;
  const lat: number[] = [];
  for (let i = 0; i < 200; i++) await c.ping();
  const t0 = performance.now();
  for (let i = 0; i < ops; i++) {
    const s = performance.now();
    await c.ping();
    lat.push(performance.now() - s);
  }
  const total = performance.now() - t0;
  lat.sort((a, b) => a - b);
  return { opsPerSec: (ops / total) * 1000, p50: percentile(lat, 50), p99: percentile(lat, 99) };
}

async function contended(peer: Peer) {
  const counts = new Array<number>(WORKERS).fill(0);
  const waits: number[] = [];
  let stop = false;
  const t0 = performance.now();
  const worker = async (i: number) => {
    while (!stop) {
      const s = performance.now();
      const release = await peer.lock('c');
      waits.push(performance.now() - s);
      counts[i]!++;
      await new Promise((r) => setImmediate(r)); // a token amount of work while holding
      await release();
    }
  };
  const sent0 = sent;
  const running = Array.from({ length: WORKERS }, (_, i) => worker(i));
  await new Promise((r) => setTimeout(r, CONTENDED_MS));
  stop = true;
  await Promise.all(running);
  const total = performance.now() - t0;
  waits.sort((a, b) => a - b);
  const acquisitions = counts.reduce((a, b) => a + b, 0);
  return {
    opsPerSec: (acquisitions / total) * 1000,
    calls: (sent - sent0) / acquisitions,
    p99wait: percentile(waits, 99),
    fairness: Math.max(...counts) / Math.max(1, Math.min(...counts)),
    starved: counts.filter((c) => c === 0).length,
  };
}

async function handOff(peer: Peer) {
  const lat: number[] = [];
  for (let i = 0; i < HANDOFFS; i++) {
    const release = await peer.lock('h');
    let got = 0;
    const waiter = peer.lock('h').then((r) => {
      got = performance.now();
      return r;
    });
    await new Promise((r) => setTimeout(r, 2)); // let the waiter start waiting
    const s = performance.now();
    await release();
    const r2 = await waiter;
    lat.push(got - s);
    await r2();
  }
  lat.sort((a, b) => a - b);
  return { p50: percentile(lat, 50), p99: percentile(lat, 99) };
}

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const f = fmt;
const peers = [
  ourPeer('switchyard mutex', false),
  ourPeer('switchyard fair', true),
  redlockPeer(),
  semaphorePeer(),
];
type Round = {
  u: Awaited<ReturnType<typeof uncontended>>;
  c: Awaited<ReturnType<typeof contended>>;
  h: Awaited<ReturnType<typeof handOff>>;
};
const rounds = new Map<string, Round[]>(peers.map((p) => [p.name, []]));
const floors: Awaited<ReturnType<typeof pingFloor>>[] = [];
// Peers are interleaved round by round and each figure is the median over rounds, so a burst of
// load from elsewhere on the machine does not land on one peer only.
for (let r = 0; r < ROUNDS; r++) {
  floors.push(await pingFloor());
  for (const peer of peers) {
    rounds.get(peer.name)!.push({
      u: await uncontended(peer),
      c: await contended(peer),
      h: await handOff(peer),
    });
  }
}
const med = <T>(xs: T[], pick: (x: T) => number) => median(xs.map(pick));
const floor = {
  opsPerSec: med(floors, (x) => x.opsPerSec),
  p50: med(floors, (x) => x.p50),
  p99: med(floors, (x) => x.p99),
};
console.log(
  `\nRedis ${server.url}, node ${process.version}, ${ROUNDS} interleaved rounds (medians); PING floor: ${f(floor.opsPerSec, 0)} ops/s, p50 ${f(floor.p50, 3)} ms`,
);
console.log(
  `uncontended: ${UNCONTENDED_OPS} sequential acquire+release; contended: ${WORKERS} workers × ${CONTENDED_MS} ms on one key; hand-off: ${HANDOFFS} releases to one waiter\n`,
);
const rows: string[][] = [];
const results = peers.map((peer) => {
  const rs = rounds.get(peer.name)!;
  return {
    name: peer.name,
    u: {
      opsPerSec: med(rs, (x) => x.u.opsPerSec),
      p50: med(rs, (x) => x.u.p50),
      p99: med(rs, (x) => x.u.p99),
      ratio: med(rs, (x) => x.u.ratio),
      floor2: med(rs, (x) => x.u.floor2),
      calls: med(rs, (x) => x.u.calls),
    },
    c: {
      opsPerSec: med(rs, (x) => x.c.opsPerSec),
      calls: med(rs, (x) => x.c.calls),
      p99wait: med(rs, (x) => x.c.p99wait),
      fairness: med(rs, (x) => x.c.fairness),
      starved: Math.max(...rs.map((x) => x.c.starved)),
    },
    h: { p50: med(rs, (x) => x.h.p50), p99: med(rs, (x) => x.h.p99) },
  };
});
// Contended throughput relative to the best peer (not ours).
const best = results.slice(2).reduce((a, b) => (b.c.opsPerSec > a.c.opsPerSec ? b : a));
for (const r of results) {
  rows.push([
    r.name,
    f(r.u.opsPerSec, 0),
    f(r.u.p50, 3),
    f(r.u.p99, 3),
    f(r.u.floor2, 3),
    f(r.u.ratio, 2),
    f(r.u.calls, 1),
    f(r.c.opsPerSec, 0),
    f(r.c.opsPerSec / best.c.opsPerSec, 2),
    f(r.c.calls, 2),
    f(r.c.p99wait, 1),
    `${f(r.c.fairness, 1)}${r.c.starved ? ` (${r.c.starved} starved)` : ''}`,
    f(r.h.p50, 3),
    f(r.h.p99, 3),
  ]);
}
rows.unshift([
  'lock',
  'uncont. ops/s',
  'p50 ms',
  'p99 ms',
  '2×PING p50 ms (interleaved)',
  'p50 / 2×PING',
  'calls / pair',
  'contended ops/s',
  'vs best peer',
  'calls / acq.',
  'p99 wait ms',
  'fairness max/min',
  'hand-off p50 ms',
  'hand-off p99 ms',
]);
rows.push([
  'PING floor (1 RTT)',
  f(floor.opsPerSec, 0),
  f(floor.p50, 3),
  f(floor.p99, 3),
  '',
  '',
  '',
  '',
  '',
  '',
  '',
  '',
  '',
  '',
]);
console.log(markdownTable(rows[0]!, rows.slice(1)));

for (const p of peers) await p.close();
for (const c of clients) c.disconnect();
await server.stop();

/**
 * lock-etcd benchmark: ours vs the etcd3 client's own Lock, plus the physical floor, on a real
 * single-member etcd started by the testkit on loopback. Run: `pnpm --filter @switchyard/lock-etcd bench`.
 * Env: UNCONTENDED (pairs, default 400), CONTENDED_MS (default 4000), WORKERS (default 32),
 * HANDOFFS (default 100).
 */
import { percentile } from '@switchyard/testkit/bench';
import { startEtcd } from '@switchyard/testkit/servers';
import { Etcd3, EtcdLockFailedError } from 'etcd3';
import { createEtcdLock } from '../src/index.js';

const UNCONTENDED = Number(process.env.UNCONTENDED ?? 400);
const CONTENDED_MS = Number(process.env.CONTENDED_MS ?? 4000);
const WORKERS = Number(process.env.WORKERS ?? 32);
const HANDOFFS = Number(process.env.HANDOFFS ?? 100);

interface Peer {
  name: string;
  /** Acquire waiting as long as needed; returns the release function. */
  acquire(key: string): Promise<() => Promise<unknown>>;
}

const pct = (xs: number[], p: number) =>
  percentile(
    [...xs].sort((a, b) => a - b),
    p,
  );
const ms = (x: number) => x.toFixed(2);
const sleep = (t: number) => new Promise((r) => setTimeout(r, t));

async function uncontended(peer: Peer) {
  const lat: number[] = [];
  const key = `u-${peer.name}`;
  for (let i = 0; i < 20; i++) await (await peer.acquire(key))(); // warm-up
  const start = performance.now();
  for (let i = 0; i < UNCONTENDED; i++) {
    const t = performance.now();
    const release = await peer.acquire(key);
    await release();
    lat.push(performance.now() - t);
  }
  const secs = (performance.now() - start) / 1000;
  return { ops: UNCONTENDED / secs, p50: pct(lat, 50), p99: pct(lat, 99) };
}

async function contended(peer: Peer) {
  const key = `c-${peer.name}`;
  const counts = new Array<number>(WORKERS).fill(0);
  const waits: number[] = [];
  let stop = false;
  const start = performance.now();
  const timer = setTimeout(() => {
    stop = true;
  }, CONTENDED_MS);
  await Promise.all(
    counts.map(async (_, w) => {
      while (!stop) {
        const t = performance.now();
        const release = await peer.acquire(key);
        waits.push(performance.now() - t);
        counts[w]!++;
        await release();
      }
    }),
  );
  clearTimeout(timer);
  const secs = (performance.now() - start) / 1000;
  const total = counts.reduce((a, b) => a + b, 0);
  const min = Math.min(...counts);
  return {
    ops: total / secs,
    p99wait: pct(waits, 99),
    fairness: min === 0 ? Number.POSITIVE_INFINITY : Math.max(...counts) / min,
  };
}

async function handoff(peer: Peer) {
  const key = `h-${peer.name}`;
  const lat: number[] = [];
  for (let i = 0; i < HANDOFFS; i++) {
    const release = await peer.acquire(key);
    let releasedAt = 0;
    const waiter = peer.acquire(key).then((r) => {
      lat.push(performance.now() - releasedAt);
      return r;
    });
    await sleep(5); // let the waiter queue
    releasedAt = performance.now();
    await release();
    await (await waiter)();
  }
  return { p50: pct(lat, 50), p99: pct(lat, 99) };
}

async function main() {
  const etcd = await startEtcd({ members: 1 });
  const client = new Etcd3({ hosts: etcd.endpoints });
  const ours = createEtcdLock({ client, prefix: 'bench', ttl: 10_000 });
  const peers: Peer[] = [
    {
      name: 'lock-etcd',
      acquire: async (key) => {
        const lease = await ours.acquire(key);
        return () => lease.release();
      },
    },
    {
      // etcd3's Lock fails at once when held: users poll. 5-15 ms jittered retry.
      name: 'etcd3 Lock',
      acquire: async (key) => {
        for (;;) {
          const lock = client.lock(`etcd3-${key}`).ttl(10);
          try {
            await lock.acquire();
            return () => lock.release();
          } catch (error) {
            if (!(error instanceof EtcdLockFailedError)) throw error;
            await sleep(5 + Math.random() * 10);
          }
        }
      },
    },
  ];
  const floorKey = 'floor';
  await client.put(floorKey).value('x');
  const floorLat: number[] = [];
  const writeLat: number[] = [];
  for (let i = 0; i < UNCONTENDED; i++) {
    let t = performance.now();
    await client.get(floorKey).string();
    floorLat.push(performance.now() - t);
    t = performance.now();
    await client.put('floor-w').value('x');
    await client.delete().key('floor-w');
    writeLat.push(performance.now() - t);
  }
  const floor = pct(floorLat, 50);
  const twoWrites = pct(writeLat, 50);
  console.log(
    `floor: 1 get round trip p50 ${ms(floor)} ms; 2 raft writes (put+delete) p50 ${ms(twoWrites)} ms`,
  );

  const rows: string[][] = [];
  const results = [];
  for (const peer of peers) {
    const u = await uncontended(peer);
    const c = await contended(peer);
    const h = await handoff(peer);
    results.push({ peer, u, c, h });
  }
  const base = results[0]!;
  for (const { peer, u, c, h } of results) {
    rows.push([
      peer.name,
      u.ops.toFixed(0),
      ms(u.p50),
      ms(u.p99),
      `${(u.p50 / twoWrites).toFixed(2)}×`,
      c.ops.toFixed(0),
      ms(c.p99wait),
      c.fairness.toFixed(2),
      ms(h.p50),
      ms(h.p99),
      `${(base.u.ops / u.ops).toFixed(2)}× / ${(base.c.ops / c.ops).toFixed(2)}×`,
    ]);
  }
  rows.push([
    'floor: get',
    (1000 / floor).toFixed(0),
    ms(floor),
    ms(pct(floorLat, 99)),
    '',
    '',
    '',
    '',
    '',
    '',
    '',
  ]);
  rows.push([
    'floor: put+delete',
    (1000 / twoWrites).toFixed(0),
    ms(twoWrites),
    ms(pct(writeLat, 99)),
    '1.00×',
    '',
    '',
    '',
    '',
    '',
    '',
  ]);
  const header = [
    'peer',
    'uncontended ops/s',
    'p50 ms',
    'p99 ms',
    'p50 vs 2 writes',
    `contended (${WORKERS}) ops/s`,
    'p99 wait ms',
    'fairness max/min',
    'hand-off p50 ms',
    'hand-off p99 ms',
    'lock-etcd ahead by (unc. / cont.)',
  ];
  console.log(`\n| ${header.join(' | ')} |\n|${header.map(() => '---').join('|')}|`);
  for (const r of rows) console.log(`| ${r.join(' | ')} |`);
  await ours.close();
  client.close();
  await etcd.stop();
}

await main();

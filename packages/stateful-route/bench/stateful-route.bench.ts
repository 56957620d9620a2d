/**
 * stateful-route benchmark against what a user would otherwise write, same process, same run,
 * a real redis-server started by the testkit harness (loopback):
 *
 * 1. Lookups: `computeLinkedPod` local-cache hit and miss (new user: the claim script), against a
 *    PING (the round-trip floor), a hand-rolled ioredis router (GET, then on a miss pick a pod in
 *    JS and SET NX, GET again if it lost) and a `hashring` consistent-hash lookup (no Redis).
 * 2. `batchGetLinkedPod` of 1 000 uids (one script) against a hand-rolled pipeline of HMGET.
 * 3. Balance: 100 000 new users over 10 pods with uneven load scores (0…90): max/mean of links
 *    per pod normalised by the share the scores ask for; and over 5 equal pods, against hashring.
 * 4. Stability: share of existing users moved when a 6th pod joins (ours 0 by design; hashring's ring).
 *
 * Run: pnpm --filter @switchyard/stateful-route bench
 */
import { createRequire } from 'node:module';
import { fmt, markdownTable, nsPerOp, percentile, ratio, timeOps } from '@switchyard/testkit/bench';
import { startRedis } from '@switchyard/testkit/servers';
import { Redis } from 'ioredis';
import {
  createRedisRouteStore,
  createRouteClient,
  createRouteServer,
  type RouteServer,
} from '../src/index.js';

interface HashRingLike {
  get(key: string): string;
  add(server: string): HashRingLike;
}
const HashRing = createRequire(import.meta.url)('hashring') as new (servers: string[]) => HashRingLike;

const N = Number(process.env.BENCH_OPS ?? 5_000);
const us = (ms: number) => `${fmt(ms * 1000, 1)} µs`;
const p50 = (l: number[]) =>
  percentile(
    [...l].sort((a, b) => a - b),
    50,
  );
const p99 = (l: number[]) =>
  percentile(
    [...l].sort((a, b) => a - b),
    99,
  );

const redis = await startRedis();
const raw = new Redis(redis.url);
const podStore = createRedisRouteStore({ url: redis.url });
const store = createRedisRouteStore({ url: redis.url });
const servers: RouteServer[] = [];
async function fleet(service: string, loads: number[]): Promise<void> {
  for (const [i, load] of loads.entries()) {
    const s = createRouteServer({ store: podStore, service, pod: `pod-${i}`, load, heartbeat: 2_000 });
    await s.start();
    servers.push(s);
  }
}

// 1. Lookups
await fleet('bench', [0, 0, 0, 0, 0]);
const client = createRouteClient({ store });
await client.pods('bench');
const ping = await timeOps(N, () => raw.ping());
const miss = await timeOps(N, (i) => client.computeLinkedPod('ns', `m${i}`, 'bench'));
// A caller that restarted (empty cache) looking up users who already have links.
const restarted = createRouteClient({ store });
await restarted.pods('bench');
const missLinked = await timeOps(N, (i) => restarted.computeLinkedPod('ns', `m${i}`, 'bench'));
await restarted.close();
const hitNs = await nsPerOp(200_000, () =>
  client.computeLinkedPod('ns', `m${Math.floor(Math.random() * N)}`, 'bench'),
);
const syncHitNs = await nsPerOp(200_000, () =>
  client.getLinkedInCache('ns', `m${Math.floor(Math.random() * N)}`, 'bench'),
);

const podIds = ['pod-0', 'pod-1', 'pod-2', 'pod-3', 'pod-4'];
async function handRolled(uid: string): Promise<string> {
  const key = `hand:{bench}:${uid}`;
  const cur = await raw.get(key);
  if (cur !== null) return cur;
  const pick = podIds[Math.floor(Math.random() * podIds.length)]!;
  if ((await raw.set(key, pick, 'NX')) === 'OK') return pick;
  return (await raw.get(key))!;
}
const handMiss = await timeOps(N, (i) => handRolled(`m${i}`));
const handHit = await timeOps(N, (i) => handRolled(`m${i}`));
const ring = new HashRing(podIds);
const ringNs = await nsPerOp(200_000, () => ring.get(`m${Math.floor(Math.random() * N)}`));

console.log(`\n## Lookups (${N} sequential ops, p50; PING = ${us(p50(ping.latencies))})\n`);
console.log(
  markdownTable(
    ['operation', 'p50', 'p99', 'vs PING'],
    [
      ['PING (round-trip floor)', us(p50(ping.latencies)), us(p99(ping.latencies)), '1.00×'],
      [
        'computeLinkedPod miss, new user (claim + placement)',
        us(p50(miss.latencies)),
        us(p99(miss.latencies)),
        ratio(p50(miss.latencies), p50(ping.latencies)),
      ],
      [
        'computeLinkedPod miss, user already linked (restarted caller)',
        us(p50(missLinked.latencies)),
        us(p99(missLinked.latencies)),
        ratio(p50(missLinked.latencies), p50(ping.latencies)),
      ],
      [
        'hand-rolled GET + SET NX, miss',
        us(p50(handMiss.latencies)),
        us(p99(handMiss.latencies)),
        ratio(p50(handMiss.latencies), p50(ping.latencies)),
      ],
      [
        'hand-rolled GET, hit (no local cache)',
        us(p50(handHit.latencies)),
        us(p99(handHit.latencies)),
        ratio(p50(handHit.latencies), p50(ping.latencies)),
      ],
      [
        'computeLinkedPod local-cache hit (await)',
        `${fmt(hitNs, 0)} ns`,
        '',
        ratio(hitNs / 1e6, p50(ping.latencies), 4),
      ],
      [
        'getLinkedInCache (sync)',
        `${fmt(syncHitNs, 0)} ns`,
        '',
        ratio(syncHitNs / 1e6, p50(ping.latencies), 4),
      ],
      [
        'hashring.get (no Redis, no stickiness)',
        `${fmt(ringNs, 0)} ns`,
        '',
        ratio(ringNs / 1e6, p50(ping.latencies), 4),
      ],
    ],
  ),
);

// 2. Batch
const uids = Array.from({ length: 1_000 }, (_, i) => `m${i}`);
const batch = await timeOps(200, () => client.batchGetLinkedPod('ns', uids, 'bench'));
await raw.hset('hand:{bench}:links', Object.fromEntries(uids.map((u) => [u, 'pod-0'])));
const hmget = await timeOps(200, () => raw.hmget('hand:{bench}:links', ...uids));
console.log('\n## batchGetLinkedPod of 1 000 uids (200 batches)\n');
console.log(
  markdownTable(
    ['operation', 'p50', 'vs HMGET'],
    [
      [
        'batchGetLinkedPod (1 script, liveness-checked, grouped)',
        us(p50(batch.latencies)),
        ratio(p50(batch.latencies), p50(hmget.latencies)),
      ],
      ['plain HMGET of 1 000 fields (no liveness, no grouping)', us(p50(hmget.latencies)), '1.00×'],
    ],
  ),
);

// 3. Balance
const LOADS = [0, 10, 20, 30, 40, 50, 60, 70, 80, 90];
const USERS = Number(process.env.BENCH_USERS ?? 100_000);
async function balance(service: string, strategy: 'least-loaded' | 'p2c'): Promise<number> {
  await fleet(service, LOADS);
  const c = createRouteClient({ store, strategy });
  let next = 0;
  await Promise.all(
    Array.from({ length: 64 }, async () => {
      while (next < USERS) await c.computeLinkedPod('ns', `b${next++}`, service);
    }),
  );
  const pods = await c.pods(service);
  await c.close();
  // The share each pod should get: cost (n+1)/cap·(1+load/100) equalised ⇒ n ∝ 1/(1+load/100).
  const weights = pods.map((p) => 1 / (1 + p.load / 100));
  const total = weights.reduce((a, b) => a + b, 0);
  const normalised = pods.map((p, i) => p.links / ((USERS * weights[i]!) / total));
  return Math.max(...normalised) / (normalised.reduce((a, b) => a + b, 0) / normalised.length);
}
const llSkew = await balance('skew-ll', 'least-loaded');
const p2cSkew = await balance('skew-p2c', 'p2c');
const ringCounts = new Map<string, number>();
for (let i = 0; i < USERS; i++) {
  const p = ring.get(`b${i}`);
  ringCounts.set(p, (ringCounts.get(p) ?? 0) + 1);
}
const ringMaxMean = Math.max(...ringCounts.values()) / (USERS / podIds.length);
const equal = await client.pods('bench');
const equalMaxMean = Math.max(...equal.map((p) => p.links)) / (N / 5);

// 4. Stability on scale-out
const ring6 = new HashRing([...podIds, 'pod-5']);
let ringMoved = 0;
for (let i = 0; i < USERS; i++) if (ring.get(`b${i}`) !== ring6.get(`b${i}`)) ringMoved++;
const joiner = createRouteServer({ store: podStore, service: 'bench', pod: 'pod-5', heartbeat: 2_000 });
await joiner.start();
servers.push(joiner);
const fresh = createRouteClient({ store });
let moved = 0;
for (let i = 0; i < N; i++) {
  const before = client.getLinkedInCache('ns', `m${i}`, 'bench');
  if ((await fresh.computeLinkedPod('ns', `m${i}`, 'bench')) !== before) moved++;
}
await fresh.close();

console.log(`\n## Balance and stability (${USERS} new users)\n`);
console.log(
  markdownTable(
    ['case', 'stateful-route', 'hashring'],
    [
      ['10 pods, load scores 0…90, least-loaded: max/mean (score-normalised)', fmt(llSkew, 3), '—'],
      ['10 pods, load scores 0…90, p2c: max/mean (score-normalised)', fmt(p2cSkew, 3), '—'],
      [`5 equal pods: max/mean links`, `${fmt(equalMaxMean, 3)} (${N} users)`, fmt(ringMaxMean, 3)],
      [
        'existing users moved when a 6th pod joins',
        `${moved} of ${N} (${fmt((100 * moved) / N, 1)} %)`,
        `${ringMoved} of ${USERS} (${fmt((100 * ringMoved) / USERS, 1)} %)`,
      ],
    ],
  ),
);

for (const s of servers) await s.close();
await client.close();
await store.close();
await podStore.close();
raw.disconnect();
await redis.stop();

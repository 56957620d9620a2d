/**
 * lock-redis benchmark on testkit's shared lock harness: our mutex (plain and fair), semaphore and
 * Redlock (1 node here, for the per-call cost) vs redlock 5 and redis-semaphore's Mutex, against
 * one throwaway redis-server on loopback, in one process, one run; the floor is two PINGs.
 * `pnpm --filter @switchyard/lock-redis bench`
 *
 * Env: BENCH_ROUNDS (3), BENCH_OPS (3000), BENCH_CONTENDED_MS (3000), BENCH_HANDOFFS (300);
 * BENCH_BEFORE=<path to another checkout's packages/lock-redis/src/index.ts> adds that version's
 * mutex and fair lock as peers in the same interleaved rounds (before/after comparisons);
 * BENCH_PEERS=<regexp> runs only the peers whose name matches (e.g. "mutex|fair").
 */
import {
  distributedLockPeer,
  type LockBenchPeer,
  lockBenchTable,
  runLockBench,
} from '@switchyard/testkit/bench';
import { startRedis } from '@switchyard/testkit/servers';
import { Redis } from 'ioredis';
import { Mutex } from 'redis-semaphore';
import Redlock from 'redlock';
import { createRedisLock, createRedisSemaphore, createRedlock } from '../src/index.js';

const server = await startRedis();
const clients: Redis[] = [];
/** Commands sent by the peers' own connections (not the pub/sub duplicates, not the floor's). */
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

function redlockPeer(): LockBenchPeer {
  const redlock = new Redlock([newClient()], { retryCount: -1, retryDelay: 10, retryJitter: 5 });
  redlock.on('error', () => {});
  return {
    name: 'redlock@5 (retryDelay 10 ms)',
    async lock(key) {
      const l = await redlock.acquire([`bench-redlock:${key}`], 10_000);
      return () => l.release();
    },
  };
}

function semaphorePeer(): LockBenchPeer {
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
  };
}

async function beforePeers(path: string | undefined): Promise<LockBenchPeer[]> {
  if (!path) return [];
  const before = (await import(path)) as { createRedisLock: typeof createRedisLock };
  return [
    distributedLockPeer(
      'switchyard mutex (before)',
      before.createRedisLock({ client: newClient(), prefix: 'bench-b:' }),
    ),
    distributedLockPeer(
      'switchyard fair (before)',
      before.createRedisLock({ client: newClient(), fair: true, prefix: 'bench-bf:' }),
    ),
  ];
}

const ours = [
  distributedLockPeer('switchyard mutex', createRedisLock({ client: newClient(), prefix: 'bench-m:' })),
  distributedLockPeer(
    'switchyard fair',
    createRedisLock({ client: newClient(), fair: true, prefix: 'bench-f:' }),
  ),
  distributedLockPeer(
    'switchyard semaphore (1 permit)',
    createRedisSemaphore({ client: newClient(), permits: 1, prefix: 'bench-s:' }),
  ),
  distributedLockPeer(
    'switchyard redlock (1 node)',
    createRedlock({ clients: [newClient()], prefix: 'bench-r:' }),
  ),
];
const before = await beforePeers(process.env.BENCH_BEFORE);
const only = process.env.BENCH_PEERS ? new RegExp(process.env.BENCH_PEERS) : undefined;
const theirs = [redlockPeer(), semaphorePeer()];
const peers = [...ours.slice(0, 2), ...before, ...ours.slice(2), ...theirs].filter(
  (p) => !only || only.test(p.name),
);

const ping = new Redis(server.url); // the floor's own connection, not counted
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const results = await runLockBench({
  peers,
  floor: {
    name: '2×PING',
    run: async () => {
      await ping.ping();
      await ping.ping();
    },
  },
  commands: () => sent,
  rounds,
  uncontendedOps: Number(process.env.BENCH_OPS ?? 3000),
  contendedMs: Number(process.env.BENCH_CONTENDED_MS ?? 3000),
  handOffs: Number(process.env.BENCH_HANDOFFS ?? 300),
  onProgress: (m) => process.stderr.write(`${m}\n`),
});
console.log(
  `\nRedis ${server.url}, node ${process.version}, ${rounds} interleaved rounds (medians); uncontended: sequential acquire+release interleaved in blocks of 50 with 2×PING on another connection; contended: 32 workers on one key; hand-off: release to one waiter\n`,
);
console.log(lockBenchTable(results, { floorName: '2×PING', versus: theirs.map((p) => p.name) }));

for (const p of [...ours, ...before, ...theirs]) await p.close?.();
for (const c of clients) c.disconnect();
ping.disconnect();
await server.stop();

/**
 * lock-etcd benchmark on testkit's shared lock harness: our mutex and semaphore vs the etcd3
 * client's own `client.lock()` (fails at once when held: users poll) and its `Election`
 * (campaign/resign, which waits: the etcd3 peer that queues), against one throwaway etcd on
 * loopback, in one process, one run; the floor is a put + delete (two Raft writes, what any etcd
 * lock pair costs at least). `pnpm --filter @switchyard/lock-etcd bench`
 *
 * Env: BENCH_ROUNDS (3), BENCH_OPS (1000), BENCH_CONTENDED_MS (3000), BENCH_HANDOFFS (100);
 * BENCH_BEFORE=<path to another checkout's packages/lock-etcd/src/index.ts> adds that version's
 * mutex as a peer in the same interleaved rounds (before/after comparisons);
 * BENCH_PEERS=<regexp> runs only the peers whose name matches.
 */
import {
  distributedLockPeer,
  type LockBenchPeer,
  lockBenchTable,
  runLockBench,
} from '@switchyard/testkit/bench';
import { startEtcd } from '@switchyard/testkit/servers';
import { Etcd3, EtcdLockFailedError, type IOptions } from 'etcd3';
import { createEtcdLock, createEtcdSemaphore } from '../src/index.js';

const etcd = await startEtcd({ members: 1 });
const clients: Etcd3[] = [];
/** Unary calls sent by the peers' clients (not the floor's; watch and keep-alive streams not counted). */
let sent = 0;
const counting = {
  execute: <T>(fn: (context: unknown) => Promise<T> | T) => {
    sent++;
    return fn(undefined);
  },
};
const newClient = () => {
  const c = new Etcd3({
    hosts: etcd.endpoints,
    faultHandling: { global: counting } as unknown as IOptions['faultHandling'],
  });
  clients.push(c);
  return c;
};
const sleep = (t: number) => new Promise((r) => setTimeout(r, t));

function etcd3LockPeer(): LockBenchPeer {
  const client = newClient();
  return {
    name: 'etcd3 client.lock() (retry 5-15 ms)',
    async lock(key) {
      for (;;) {
        const lock = client.lock(`bench-etcd3/${key}`).ttl(10);
        try {
          await lock.acquire();
          return () => lock.release();
        } catch (error) {
          if (!(error instanceof EtcdLockFailedError)) throw error;
          await sleep(5 + Math.random() * 10);
        }
      }
    },
  };
}

function etcd3ElectionPeer(): LockBenchPeer {
  const client = newClient();
  return {
    name: 'etcd3 Election campaign/resign',
    async lock(key) {
      const campaign = client.election(`bench-election-${key}`, 10).campaign('x');
      campaign.on('error', () => {});
      await campaign.wait();
      return () => campaign.resign();
    },
  };
}

async function beforePeers(path: string | undefined): Promise<LockBenchPeer[]> {
  if (!path) return [];
  const before = (await import(path)) as { createEtcdLock: typeof createEtcdLock };
  return [
    distributedLockPeer(
      'switchyard mutex (before)',
      before.createEtcdLock({ client: newClient(), prefix: 'bench-before', ttl: 10_000 }),
    ),
  ];
}

const ours = [
  distributedLockPeer('switchyard mutex', createEtcdLock({ client: newClient(), prefix: '/bench-m' })),
  distributedLockPeer(
    'switchyard semaphore (1 permit)',
    createEtcdSemaphore({ client: newClient(), prefix: '/bench-s', permits: 1 }),
  ),
];
const before = await beforePeers(process.env.BENCH_BEFORE);
const only = process.env.BENCH_PEERS ? new RegExp(process.env.BENCH_PEERS) : undefined;
const theirs = [etcd3LockPeer(), etcd3ElectionPeer()];
const peers = [...ours.slice(0, 1), ...before, ...ours.slice(1), ...theirs].filter(
  (p) => !only || only.test(p.name),
);

const floorClient = new Etcd3({ hosts: etcd.endpoints }); // the floor's own client, not counted
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const results = await runLockBench({
  peers,
  floor: {
    name: 'put+delete',
    run: async () => {
      await floorClient.put('bench-floor').value('x');
      await floorClient.delete().key('bench-floor');
    },
  },
  commands: () => sent,
  rounds,
  uncontendedOps: Number(process.env.BENCH_OPS ?? 1000),
  contendedMs: Number(process.env.BENCH_CONTENDED_MS ?? 3000),
  handOffs: Number(process.env.BENCH_HANDOFFS ?? 100),
  onProgress: (m) => process.stderr.write(`${m}\n`),
});
console.log(
  `\netcd ${etcd.endpoints.join(',')} (1 member), node ${process.version}, ${rounds} interleaved rounds (medians); uncontended: sequential acquire+release interleaved in blocks of 50 with put+delete on another client; contended: 32 workers on one key; hand-off: release to one waiter\n`,
);
console.log(lockBenchTable(results, { floorName: 'put+delete', versus: theirs.map((p) => p.name) }));

for (const p of [...ours, ...before, ...theirs]) await p.close?.();
for (const c of clients) c.close();
floorClient.close();
await etcd.stop();

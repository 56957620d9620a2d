// Benchmark of @switchyard/config-center against what a user would otherwise write, in one run:
// release → every one of 100 watchers applied (ours on Redis and etcd vs a hand-written etcd3
// watch + JSON.parse, ioredis pub/sub + JSON.parse, and a 100 ms polling loop), and a typed read
// (ours from the local cache vs node-config, raw ioredis GET + JSON.parse, raw etcd3 get).
import { randomUUID } from 'node:crypto';
import type { ConfigStore } from '@switchyard/core';
import { fmt, markdownTable, ratio, summarize } from '@switchyard/testkit/bench';
import { startEtcd, startRedis } from '@switchyard/testkit/servers';
import { Etcd3 } from 'etcd3';
import { Redis } from 'ioredis';
import { z } from 'zod';
import {
  createConfigAdmin,
  createConfigCenter,
  createEtcdConfigStore,
  createRedisConfigStore,
} from '../src/index.js';

const WATCHERS = 100;
const RELEASES = Number(process.env.RELEASES ?? 40);
const schema = z.object({ seq: z.number().int(), timeout: z.number().int().positive() });

type Waiter = { until: (seq: number) => Promise<void> };

/** Resolves when every watcher reports `seq`. */
function barrier(count: number): { seen: (seq: number) => void; wait: (seq: number) => Promise<void> } {
  const counts = new Map<number, number>();
  const waiters = new Map<number, () => void>();
  return {
    seen(seq) {
      const n = (counts.get(seq) ?? 0) + 1;
      counts.set(seq, n);
      if (n === count) waiters.get(seq)?.();
    },
    wait(seq) {
      if ((counts.get(seq) ?? 0) >= count) return Promise.resolve();
      return new Promise((r) => waiters.set(seq, r));
    },
  };
}

/** Per release: ms from the start of the release call until every watcher applied it. */
async function propagation(release: (seq: number) => Promise<unknown>, w: Waiter): Promise<number[]> {
  const samples: number[] = [];
  for (let seq = 1; seq <= RELEASES; seq++) {
    const t0 = performance.now();
    const done = w.until(seq).then(() => performance.now() - t0);
    await release(seq);
    samples.push(await done);
    await new Promise((r) => setTimeout(r, 5));
  }
  return samples;
}

async function oursPropagation(makeStore: () => ConfigStore): Promise<number[]> {
  const app = `bench${randomUUID().slice(0, 6)}`;
  const store = makeStore();
  const admin = createConfigAdmin({ store, app, namespaces: { http: { schema } } });
  await admin.publish({ env: 'prod', namespace: 'http' }, { seq: 0, timeout: 100 }, { author: 'bench' });
  const b = barrier(WATCHERS);
  const centers = await Promise.all(
    Array.from({ length: WATCHERS }, async (_, i) => {
      const c = createConfigCenter({ store, app, env: 'prod', instance: { id: `i${i}` } });
      const ns = await c.namespace('http', { schema });
      ns.subscribe((u) => b.seen(u.value.seq));
      return c;
    }),
  );
  const samples = await propagation(
    (seq) => admin.publish({ env: 'prod', namespace: 'http' }, { seq, timeout: 100 }, { author: 'bench' }),
    { until: b.wait },
  );
  await Promise.all(centers.map((c) => c.close()));
  await store.close();
  return samples;
}

/** The store layer alone: `store.put` → 100 `store.watch` iterators (no admin, no center). */
async function storePropagation(makeStore: () => ConfigStore): Promise<number[]> {
  const store = makeStore();
  const key = `store/${randomUUID()}`;
  const b = barrier(WATCHERS);
  const ac = new AbortController();
  const { revision } = await store.list('store/');
  for (let i = 0; i < WATCHERS; i++) {
    void (async () => {
      for await (const c of store.watch(key, { signal: ac.signal, fromRevision: revision }))
        b.seen((JSON.parse(c.entry.value) as { seq: number }).seq);
    })();
  }
  await new Promise((r) => setTimeout(r, 200));
  const samples = await propagation((seq) => store.put(key, JSON.stringify({ seq, timeout: 100 })), {
    until: b.wait,
  });
  ac.abort();
  await store.close();
  return samples;
}

async function etcdRawPropagation(hosts: string[]): Promise<number[]> {
  const client = new Etcd3({ hosts });
  const key = `raw/${randomUUID()}`;
  const b = barrier(WATCHERS);
  const watchers = await Promise.all(
    Array.from({ length: WATCHERS }, async () => {
      const w = await client.watch().key(key).create();
      w.on('put', (kv) => b.seen((JSON.parse(kv.value.toString()) as { seq: number }).seq));
      return w;
    }),
  );
  const samples = await propagation(
    (seq) =>
      client
        .put(key)
        .value(JSON.stringify({ seq, timeout: 100 }))
        .exec(),
    {
      until: b.wait,
    },
  );
  await Promise.all(watchers.map((w) => w.cancel()));
  client.close();
  return samples;
}

async function redisPubSubPropagation(url: string): Promise<number[]> {
  const pub = new Redis(url);
  const sub = new Redis(url);
  const channel = `raw:${randomUUID()}`;
  const b = barrier(WATCHERS);
  sub.setMaxListeners(0);
  await sub.subscribe(channel);
  for (let i = 0; i < WATCHERS; i++)
    sub.on('message', (_c, m: string) => b.seen((JSON.parse(m) as { seq: number }).seq));
  const samples = await propagation(
    async (seq) => {
      const v = JSON.stringify({ seq, timeout: 100 });
      await pub.multi().set(channel, v).publish(channel, v).exec();
    },
    { until: b.wait },
  );
  pub.disconnect();
  sub.disconnect();
  return samples;
}

async function pollingPropagation(url: string, interval: number): Promise<number[]> {
  const writer = new Redis(url);
  const reader = new Redis(url);
  const key = `poll:${randomUUID()}`;
  const b = barrier(WATCHERS);
  const last = new Array<number>(WATCHERS).fill(0);
  const timers = Array.from({ length: WATCHERS }, (_, i) =>
    setInterval(async () => {
      const raw = await reader.get(key);
      if (!raw) return;
      const { seq } = JSON.parse(raw) as { seq: number };
      if (seq !== last[i]) {
        last[i] = seq;
        b.seen(seq);
      }
    }, interval),
  );
  const samples = await propagation((seq) => writer.set(key, JSON.stringify({ seq, timeout: 100 })), {
    until: b.wait,
  });
  for (const t of timers) clearInterval(t);
  writer.disconnect();
  reader.disconnect();
  return samples;
}

function syncNsPerOp(n: number, op: () => unknown): number {
  let sink = 0;
  for (let i = 0; i < 10_000; i++) sink += op() ? 1 : 0;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) sink += op() ? 1 : 0;
  const ns = Number(process.hrtime.bigint() - t0) / n;
  if (sink < 0) console.log(sink);
  return ns;
}

async function asyncUsPerOp(n: number, op: () => Promise<unknown>): Promise<number> {
  for (let i = 0; i < 50; i++) await op();
  const t0 = performance.now();
  for (let i = 0; i < n; i++) await op();
  return ((performance.now() - t0) * 1000) / n;
}

async function main(): Promise<void> {
  const [redis, etcd] = await Promise.all([startRedis(), startEtcd()]);
  try {
    const results: [string, number[]][] = [];
    results.push([
      'config-center on Redis (admin.publish → 100 centers applied)',
      await oursPropagation(() => createRedisConfigStore({ url: redis.url })),
    ]);
    results.push([
      'config-center on etcd (admin.publish → 100 centers applied)',
      await oursPropagation(() => createEtcdConfigStore({ hosts: etcd.endpoints })),
    ]);
    results.push([
      'Redis store alone: store.put → 100 store.watch iterators',
      await storePropagation(() => createRedisConfigStore({ url: redis.url })),
    ]);
    results.push([
      'etcd store alone: store.put → 100 store.watch iterators',
      await storePropagation(() => createEtcdConfigStore({ hosts: etcd.endpoints })),
    ]);
    results.push([
      'hand-written etcd3 watch + JSON.parse (100 watchers)',
      await etcdRawPropagation(etcd.endpoints),
    ]);
    results.push([
      'hand-written ioredis SET+PUBLISH + JSON.parse (100 listeners)',
      await redisPubSubPropagation(redis.url),
    ]);
    results.push([
      'polling loop, ioredis GET every 100 ms (100 pollers)',
      await pollingPropagation(redis.url, 100),
    ]);
    const base = summarize(results[4]![1]);
    console.log(
      `\n### Release → every watcher applied (${WATCHERS} watchers, ${RELEASES} releases, loopback)\n`,
    );
    console.log(
      markdownTable(
        ['path', 'p50 ms', 'p99 ms', 'max ms', 'p50 vs etcd3 baseline'],
        results.map(([name, s]) => {
          const x = summarize(s);
          return [name, fmt(x.p50), fmt(x.p99), fmt(x.max), ratio(x.p50, base.p50)];
        }),
      ),
    );

    // Typed reads
    const app = `read${randomUUID().slice(0, 6)}`;
    const store = createRedisConfigStore({ url: redis.url });
    await createConfigAdmin({ store, app }).publish(
      { env: 'prod', namespace: 'http' },
      { seq: 1, timeout: 250 },
      { author: 'bench' },
    );
    const center = createConfigCenter({ store, app, env: 'prod' });
    const ns = await center.namespace('http', { schema });
    process.env.NODE_CONFIG = JSON.stringify({ http: { seq: 1, timeout: 250 } });
    process.env.SUPPRESS_NO_CONFIG_WARNING = 'y';
    const nodeConfig = (await import('config')).default as { get: (k: string) => unknown };
    const plain = { timeout: 250 };
    const raw = new Redis(redis.url);
    await raw.set('bench:http', JSON.stringify({ seq: 1, timeout: 250 }));
    const etcdClient = new Etcd3({ hosts: etcd.endpoints });
    await etcdClient.put('bench/http').value(JSON.stringify({ seq: 1, timeout: 250 }));
    const N = 5_000_000;
    const reads: [string, number][] = [
      [
        "config-center `ns.get('timeout')` (typed, validated, local)",
        syncNsPerOp(N, () => ns.get('timeout')),
      ],
      ['config-center `ns.value.timeout`', syncNsPerOp(N, () => ns.value.timeout)],
      ["node-config `config.get('http.timeout')`", syncNsPerOp(N / 10, () => nodeConfig.get('http.timeout'))],
      ['plain object property (floor)', syncNsPerOp(N, () => plain.timeout)],
      [
        'raw ioredis GET + JSON.parse per read',
        (await asyncUsPerOp(2_000, async () => JSON.parse((await raw.get('bench:http'))!).timeout)) * 1000,
      ],
      [
        'raw etcd3 get + JSON.parse per read',
        (await asyncUsPerOp(
          1_000,
          async () => JSON.parse((await etcdClient.get('bench/http').string())!).timeout,
        )) * 1000,
      ],
    ];
    const ours = reads[0]![1];
    console.log('\n### Typed read\n');
    console.log(
      markdownTable(
        ['read', 'ns/op', 'vs config-center'],
        reads.map(([n, v]) => [n, fmt(v, 1), ratio(v, ours)]),
      ),
    );
    raw.disconnect();
    etcdClient.close();
    await center.close();
    await store.close();
  } finally {
    await Promise.all([redis.stop(), etcd.stop()]);
  }
}

await main();

/**
 * discovery-etcd benchmark, on a real single-member etcd started by the testkit harness.
 *
 * 1. Propagation: register → a watcher (another client) sees the instance; 1 000 sequential
 *    registrations, p50/p99/max.
 * 2. resolve() cost: core's createDiscoveryClient (watch-driven cache) vs backend.resolve (one
 *    range read + decode per call) vs a hand-written etcd3 range read + JSON.parse per call.
 * 3. Initial sync of 10 000 instances over 500 services: 500 backend watches, the discovery
 *    client warming 500 services, and one range read of the whole prefix; time and heap delta.
 *
 * Run: pnpm --filter @switchyard/discovery-etcd bench
 */
import { setMaxListeners } from 'node:events';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { createDiscoveryClient } from '@switchyard/core';
import { measurePropagation, nsPerOp, percentile } from '@switchyard/testkit/bench';
import { startEtcd } from '@switchyard/testkit/servers';
import { Etcd3 } from 'etcd3';
import { createEtcdDiscovery } from '../src/index.js';
import { InstanceCodec } from '../src/instance-codec.js';

setFlagsFromString('--expose_gc');
const gc = runInNewContext('gc') as () => void;

const REGISTRATIONS = Number(process.env.BENCH_REGISTRATIONS ?? 1000);
const SERVICES = Number(process.env.BENCH_SERVICES ?? 500);
const PER_SERVICE = Number(process.env.BENCH_PER_SERVICE ?? 20);

const ms = (n: number) => `${n.toFixed(2)} ms`;
/** Heap in MB after letting closed clients wind down and collecting twice. */
const heapMb = async () => {
  await new Promise((r) => setTimeout(r, 500));
  gc();
  gc();
  return process.memoryUsage().heapUsed / 1024 / 1024;
};

async function main(): Promise<void> {
  const etcd = await startEtcd({ members: 1 });
  const raw = new Etcd3({ hosts: etcd.endpoints });
  const rows: string[][] = [];
  try {
    // 1. Propagation latency.
    {
      const prefix = '/bench/propagation';
      const a = createEtcdDiscovery({ hosts: etcd.endpoints, prefix, ttl: 60_000 });
      const b = createEtcdDiscovery({ hosts: etcd.endpoints, prefix, ttl: 60_000 });
      const samples = await measurePropagation({
        registrar: a,
        watcher: b,
        service: 'prop',
        count: REGISTRATIONS,
        address: '10.0.0.1',
      });
      samples.sort((x, y) => x - y);
      rows.push([
        `register → watcher sees it (${REGISTRATIONS} sequential)`,
        `p50 ${ms(percentile(samples, 50))}`,
        `p99 ${ms(percentile(samples, 99))}`,
        `max ${ms(samples.at(-1) ?? Number.NaN)}`,
      ]);
      await Promise.all([a.close(), b.close()]);
    }

    // 2. resolve(): cached vs a range read per call.
    {
      const prefix = '/bench/resolve';
      const codec = new InstanceCodec(prefix);
      const d = createEtcdDiscovery({ hosts: etcd.endpoints, prefix });
      for (let i = 0; i < PER_SERVICE; i++) {
        await raw.put(codec.key('api', `i${i}`)).value(
          codec.encode({
            id: `i${i}`,
            service: 'api',
            address: `10.0.0.${i + 1}`,
            port: 8080,
            tags: ['v1'],
            metadata: { zone: 'a' },
            weight: 1,
            health: 'passing',
          }),
        );
      }
      const client = createDiscoveryClient({ backend: d });
      await client.resolve('api');
      const cached = await nsPerOp(200_000, () => client.resolve('api'));
      // Interleaved rounds, best of three: the machine is shared, so single runs are noisy.
      let fresh = Number.POSITIVE_INFINITY;
      let byHand = Number.POSITIVE_INFINITY;
      for (let round = 0; round < 3; round++) {
        fresh = Math.min(fresh, await nsPerOp(1_000, () => d.resolve('api')));
        byHand = Math.min(
          byHand,
          await nsPerOp(1_000, async () => {
            const values = await raw.getAll().prefix(codec.servicePrefix('api')).strings();
            return Object.values(values).map((v) => JSON.parse(v) as unknown);
          }),
        );
      }
      const ns = (n: number) => `${Math.round(n).toLocaleString('en-US')} ns/op`;
      rows.push(['resolve(): core discovery client, cached', ns(cached), '1×', '']);
      rows.push([
        `resolve(): backend.resolve, range read per call`,
        ns(fresh),
        `${(fresh / cached).toFixed(0)}×`,
        '',
      ]);
      rows.push([
        `resolve(): hand-written etcd3 getAll + JSON.parse`,
        ns(byHand),
        `${(byHand / cached).toFixed(0)}×`,
        '',
      ]);
      await client.close();
      await d.close();
    }

    // 3. Initial sync of 10 000 instances over 500 services.
    {
      const prefix = '/bench/sync';
      const codec = new InstanceCodec(prefix);
      const total = SERVICES * PER_SERVICE;
      const puts: Promise<unknown>[] = [];
      for (let s = 0; s < SERVICES; s++) {
        for (let i = 0; i < PER_SERVICE; i++) {
          const service = `svc-${s}`;
          puts.push(
            raw
              .put(codec.key(service, `i${i}`))
              .value(
                codec.encode({
                  id: `i${i}`,
                  service,
                  address: `10.${s % 250}.${i}.1`,
                  port: 8080,
                  tags: ['v1', 'canary'],
                  metadata: { version: '1.2.3', team: 'core' },
                  weight: 1,
                  zone: `z${i % 3}`,
                  health: 'passing',
                }),
              )
              .exec(),
          );
          if (puts.length >= 500) await Promise.all(puts.splice(0));
        }
      }
      await Promise.all(puts);
      const services = Array.from({ length: SERVICES }, (_, s) => `svc-${s}`);

      {
        const t0 = performance.now();
        const res = await raw.getAll().prefix(codec.rootPrefix).exec();
        const decoded = res.kvs.map((kv) => codec.decode(kv.key.toString(), kv.value.toString()));
        const took = performance.now() - t0;
        rows.push([
          `one range read of all ${total} instances + decode (peer)`,
          ms(took),
          'n/a',
          `${decoded.length} decoded, no watch`,
        ]);
      }
      {
        const d = createEtcdDiscovery({ hosts: etcd.endpoints, prefix });
        const before = await heapMb();
        const ac = new AbortController();
        setMaxListeners(0, ac.signal);
        const t0 = performance.now();
        let count = 0;
        await Promise.all(
          services.map(
            (service) =>
              new Promise<void>((resolve) => {
                void (async () => {
                  for await (const e of d.watch(service, { signal: ac.signal })) {
                    if (e.reason === 'initial') {
                      count += e.snapshot.instances.length;
                      resolve();
                    }
                  }
                })();
              }),
          ),
        );
        const took = performance.now() - t0;
        const mem = (await heapMb()) - before;
        rows.push([
          `${SERVICES} backend watches, initial sync (${count} instances)`,
          ms(took),
          `${mem.toFixed(1)} MB heap`,
          `${Math.round((mem * 1024 * 1024) / total)} B/instance`,
        ]);
        ac.abort();
        await d.close();
      }
      {
        const d = createEtcdDiscovery({ hosts: etcd.endpoints, prefix });
        const client = createDiscoveryClient({ backend: d, resyncInterval: 0 });
        const before = await heapMb();
        const t0 = performance.now();
        const snaps = await Promise.all(services.map((s) => client.resolve(s)));
        const took = performance.now() - t0;
        const mem = (await heapMb()) - before;
        const count = snaps.reduce((n, s) => n + s.instances.length, 0);
        rows.push([
          `discovery client warming ${SERVICES} services (${count} instances)`,
          ms(took),
          `${mem.toFixed(1)} MB heap`,
          `${Math.round((mem * 1024 * 1024) / total)} B/instance`,
        ]);
        await client.close();
        await d.close();
      }
    }
  } finally {
    raw.close();
    await etcd.stop();
  }
  const header = ['measurement', 'result', 'ratio / memory', 'note'];
  const widths = [0, 1, 2, 3].map((c) => Math.max(...[header, ...rows].map((r) => (r[c] ?? '').length)));
  const line = (r: string[]) => `| ${r.map((x, i) => x.padEnd(widths[i]!)).join(' | ')} |`;
  console.log(`\nNode ${process.version}, etcd 3.4 single member (loopback), ${new Date().toISOString()}\n`);
  console.log(line(header));
  console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
  for (const r of rows) console.log(line(r));
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);

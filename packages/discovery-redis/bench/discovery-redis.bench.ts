/**
 * discovery-redis benchmark against @switchyard/discovery-etcd, same process, same run, real
 * servers started by the testkit harness (redis-server and a single-member etcd, loopback).
 *
 * 1. Propagation: register → a watcher (another client) sees the instance; sequential
 *    registrations, p50/p99/max; the two backends alternate in halves.
 * 2. Heartbeat cost: one keep-alive as the registration sends it (Redis: the heartbeat script by
 *    EVALSHA; etcd: one lease keep-alive), sequential, with a Redis PING as the round-trip floor and
 *    the server-side time per call from INFO commandstats.
 * 3. Initial sync of 10 000 instances over 500 services: 500 backend watches, and the core
 *    discovery client warming 500 services; time and heap delta.
 *
 * Run: pnpm --filter @switchyard/discovery-redis bench
 */
import { setMaxListeners } from 'node:events';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { createDiscoveryClient, type DiscoveryBackend, systemClock } from '@switchyard/core';
import { createEtcdDiscovery } from '@switchyard/discovery-etcd';
import { fmt, markdownTable, measurePropagation, nsPerOp, percentile } from '@switchyard/testkit/bench';
import { startEtcd, startRedis } from '@switchyard/testkit/servers';
import { Etcd3 } from 'etcd3';
import { Redis } from 'ioredis';
import { createRedisDiscovery } from '../src/index.js';
import { encodeInstance, recordValue } from '../src/instance-record.js';
import { KeyLayout } from '../src/key-layout.js';
import { RedisContext } from '../src/redis-context.js';
import { HEARTBEAT, PUT } from '../src/scripts.js';

setFlagsFromString('--expose_gc');
const gc = runInNewContext('gc') as () => void;

const REGISTRATIONS = Number(process.env.BENCH_REGISTRATIONS ?? 1000);
const HEARTBEATS = Number(process.env.BENCH_HEARTBEATS ?? 3000);
const SERVICES = Number(process.env.BENCH_SERVICES ?? 500);
const PER_SERVICE = Number(process.env.BENCH_PER_SERVICE ?? 20);

const ms = (n: number) => `${fmt(n)} ms`;
const us = (ns: number) => `${fmt(ns / 1000, 1)} µs`;
const heapMb = async () => {
  await new Promise((r) => setTimeout(r, 500));
  gc();
  gc();
  return process.memoryUsage().heapUsed / 1024 / 1024;
};
const instanceOf = (service: string, s: number, i: number) =>
  Object.freeze({
    id: `i${i}`,
    service,
    address: `10.${s % 250}.${i}.1`,
    port: 8080,
    tags: Object.freeze(['v1', 'canary']),
    metadata: Object.freeze({ version: '1.2.3', team: 'core' }),
    weight: 1,
    zone: `z${i % 3}`,
    health: 'passing' as const,
  });

const redis = await startRedis();
const etcd = await startEtcd({ members: 1 });
const raw = new Redis(redis.url);
const etcdRaw = new Etcd3({ hosts: etcd.endpoints });
const rows: string[][] = [];

try {
  // 1. Propagation, the two backends alternating.
  {
    const samples: Record<string, number[]> = { redis: [], etcd: [] };
    const make = {
      redis: (p: string) => createRedisDiscovery({ url: redis.url, prefix: p, ttl: 60_000 }),
      etcd: (p: string) => createEtcdDiscovery({ hosts: etcd.endpoints, prefix: `/${p}`, ttl: 60_000 }),
    };
    for (let half = 0; half < 2; half++) {
      for (const name of ['redis', 'etcd'] as const) {
        const a: DiscoveryBackend = make[name](`bench-prop-${half}`);
        const b: DiscoveryBackend = make[name](`bench-prop-${half}`);
        samples[name]!.push(
          ...(await measurePropagation({
            registrar: a,
            watcher: b,
            service: 'prop',
            count: REGISTRATIONS / 2,
            address: '10.0.0.1',
          })),
        );
        await Promise.all([a.close(), b.close()]);
      }
    }
    const p = (name: string, q: number) =>
      percentile(
        [...samples[name]!].sort((x, y) => x - y),
        q,
      );
    for (const name of ['redis', 'etcd']) {
      rows.push([
        `register → watcher sees it, ${name} (${REGISTRATIONS} sequential)`,
        `p50 ${ms(p(name, 50))} · p99 ${ms(p(name, 99))}`,
        name === 'redis' ? `etcd/redis p50 ${fmt(p('etcd', 50) / p('redis', 50))}×` : '',
        `max ${ms(Math.max(...samples[name]!))}`,
      ]);
    }
  }

  // 2. Heartbeat cost.
  {
    const ctx = new RedisContext({
      client: raw,
      keys: new KeyLayout('bench-hb:'),
      clock: systemClock,
      requestTimeout: 5000,
      streamMaxLen: 1000,
    });
    const instance = instanceOf('hb', 0, 0);
    const token = ctx.uid();
    const epoch = String(await ctx.run(PUT, 'hb', [instance.id, token, encodeInstance(instance), 60_000]));
    const k = ctx.keys.service('hb');
    const beat = async () => {
      const value = recordValue(token, encodeInstance(instance));
      const alive = await HEARTBEAT.run(
        raw,
        [k.records, k.deadlines, k.meta],
        [instance.id, value, 60_000, epoch],
      );
      if (alive !== 1) throw new Error('heartbeat failed');
    };
    const lease = etcdRaw.lease(60, { autoKeepAlive: false });
    await lease.grant();
    let rRedis = Number.POSITIVE_INFINITY;
    let rEtcd = Number.POSITIVE_INFINITY;
    let rPing = Number.POSITIVE_INFINITY;
    await raw.config('RESETSTAT');
    for (let round = 0; round < 3; round++) {
      rRedis = Math.min(rRedis, await nsPerOp(HEARTBEATS, beat));
      rPing = Math.min(rPing, await nsPerOp(HEARTBEATS, () => raw.ping()));
      rEtcd = Math.min(rEtcd, await nsPerOp(HEARTBEATS, () => lease.keepaliveOnce()));
    }
    const stats = await raw.info('commandstats');
    const server = Number(stats.match(/cmdstat_evalsha:calls=\d+,usec=\d+,usec_per_call=([\d.]+)/)?.[1]);
    rows.push([
      'heartbeat, redis (EVALSHA of the heartbeat script)',
      `${us(rRedis)} per call`,
      `etcd/redis ${fmt(rEtcd / rRedis)}×`,
      `server ${fmt(server, 1)} µs/call; PING floor ${us(rPing)}`,
    ]);
    rows.push(['heartbeat, etcd (one lease keep-alive)', `${us(rEtcd)} per call`, '', 'best of 3 rounds']);
    await lease.revoke();
  }

  // 3. Initial sync of 10 000 instances over 500 services.
  {
    const services = Array.from({ length: SERVICES }, (_, s) => `svc-${s}`);
    const total = SERVICES * PER_SERVICE;
    const ctx = new RedisContext({
      client: raw,
      keys: new KeyLayout('bench-sync:'),
      clock: systemClock,
      requestTimeout: 5000,
      streamMaxLen: 1000,
    });
    // discovery-etcd's layout: `<prefix>/<service>/<id>` → the JSON of the instance.
    const etcdKey = (service: string, id: string) => `/bench-sync/${service}/${id}`;
    const writes: Promise<unknown>[] = [];
    for (const [s, service] of services.entries()) {
      for (let i = 0; i < PER_SERVICE; i++) {
        const inst = instanceOf(service, s, i);
        writes.push(ctx.run(PUT, service, [inst.id, ctx.uid(), encodeInstance(inst), 600_000]));
        writes.push(etcdRaw.put(etcdKey(service, inst.id)).value(JSON.stringify(inst)).exec());
        if (writes.length >= 1000) await Promise.all(writes.splice(0));
      }
    }
    await Promise.all(writes);

    const backends = {
      redis: () => createRedisDiscovery({ url: redis.url, prefix: 'bench-sync:' }),
      etcd: () => createEtcdDiscovery({ hosts: etcd.endpoints, prefix: '/bench-sync' }),
    };
    const results: Record<string, { watch: number; watchMb: number; client: number; clientMb: number }> = {};
    for (const name of ['redis', 'etcd'] as const) {
      const d: DiscoveryBackend = backends[name]();
      const before = await heapMb();
      const ac = new AbortController();
      setMaxListeners(0, ac.signal);
      let count = 0;
      const t0 = performance.now();
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
      const watch = performance.now() - t0;
      const watchMb = (await heapMb()) - before;
      if (count !== total) throw new Error(`${name}: synced ${count} of ${total}`);
      ac.abort();
      await d.close();

      const d2: DiscoveryBackend = backends[name]();
      const client = createDiscoveryClient({ backend: d2, resyncInterval: 0 });
      const before2 = await heapMb();
      const t1 = performance.now();
      const snaps = await Promise.all(services.map((s) => client.resolve(s)));
      const warm = performance.now() - t1;
      const clientMb = (await heapMb()) - before2;
      if (snaps.reduce((x, s) => x + s.instances.length, 0) !== total)
        throw new Error(`${name}: client sync`);
      await client.close();
      await d2.close();
      results[name] = { watch, watchMb, client: warm, clientMb };
    }
    const perInstance = (mb: number) => `${Math.round((mb * 1024 * 1024) / total)} B/instance`;
    for (const name of ['redis', 'etcd']) {
      const r = results[name]!;
      rows.push([
        `${SERVICES} backend watches, initial sync of ${total}, ${name}`,
        ms(r.watch),
        `${fmt(r.watchMb, 1)} MB heap (${perInstance(r.watchMb)})`,
        name === 'redis' ? `etcd/redis ${fmt(results.etcd!.watch / r.watch)}×` : '',
      ]);
      rows.push([
        `discovery client warming ${SERVICES} services, ${name}`,
        ms(r.client),
        `${fmt(r.clientMb, 1)} MB heap (${perInstance(r.clientMb)})`,
        name === 'redis' ? `etcd/redis ${fmt(results.etcd!.client / r.client)}×` : '',
      ]);
    }
  }
} finally {
  raw.disconnect();
  etcdRaw.close();
  await Promise.all([redis.stop(), etcd.stop()]);
}

console.log(
  `\nNode ${process.version}, redis-server and etcd single member on loopback, ${new Date().toISOString()}\n`,
);
console.log(markdownTable(['measurement', 'result', 'ratio / memory', 'note'], rows));
process.exit(0);

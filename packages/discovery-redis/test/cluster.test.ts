import { eventually, runDiscoveryConformance } from '@switchyard/testkit/conformance';
import { type RedisServer, startRedis } from '@switchyard/testkit/servers';
import { Cluster } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedisDiscovery } from '../src/index.js';
import { collect } from './helpers.js';

// A real 3-master Redis Cluster (no replicas). Each service's keys share one hash tag (one slot);
// different services land on different masters; watchers are woken by a pub/sub doorbell.
let nodes: RedisServer[];
let cluster: Cluster;
let run = 0;

async function until(probe: () => Promise<boolean>, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await probe().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('cluster did not converge');
}

beforeAll(async () => {
  nodes = await Promise.all(
    [0, 1, 2].map(() =>
      startRedis({ args: ['--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf'] }),
    ),
  );
  const ranges = [
    [0, 5460],
    [5461, 10922],
    [10923, 16383],
  ];
  await Promise.all(
    nodes.map((n, i) => n.command(`CLUSTER ADDSLOTSRANGE ${ranges[i]![0]} ${ranges[i]![1]}`)),
  );
  for (const n of nodes.slice(1)) await nodes[0]!.command(`CLUSTER MEET 127.0.0.1 ${n.port}`);
  await until(async () =>
    (await Promise.all(nodes.map((n) => n.command('CLUSTER INFO')))).every((r) =>
      r.includes('cluster_state:ok'),
    ),
  );
  cluster = new Cluster(nodes.map((n) => ({ host: n.host, port: n.port })));
  await until(async () => (await cluster.ping()) === 'PONG');
});

afterAll(async () => {
  cluster?.disconnect();
  await Promise.all((nodes ?? []).map((n) => n.stop()));
});

runDiscoveryConformance({
  name: 'redis (3-master cluster)',
  ttlGranularity: 'milliseconds',
  create: async () => {
    const prefix = `cc${++run}:`;
    const options = { client: cluster, prefix, ttl: 2000, requestTimeout: 2000, sweepInterval: 500 };
    const a = createRedisDiscovery(options);
    const b = createRedisDiscovery(options);
    return {
      a,
      b,
      cleanup: async () => {
        await Promise.all([a.close(), b.close()]);
      },
      forget: async () => {
        await Promise.all(nodes.map((n) => n.command('FLUSHALL')));
      },
    };
  },
});

describe('Redis Cluster', () => {
  it('services spread over every master; one watcher per client sees every change of each', async () => {
    const prefix = `spread${++run}:`;
    await using a = createRedisDiscovery({ client: cluster, prefix });
    await using b = createRedisDiscovery({ client: cluster, prefix });
    const services = Array.from({ length: 12 }, (_, i) => `svc-${i}`);
    const slots = await Promise.all(
      services.map(async (s) => {
        const keys = ['inst', 'exp', 'log', 'meta'].map((k) => `${prefix}{${s}}:${k}`);
        const slot = await Promise.all(keys.map((k) => cluster.cluster('KEYSLOT', k)));
        expect(new Set(slot).size).toBe(1); // one service, one slot
        return Number(slot[0]);
      }),
    );
    const owners = new Set(slots.map((s) => (s <= 5460 ? 0 : s <= 10922 ? 1 : 2)));
    expect(owners.size).toBe(3);

    const ws = services.map((s) => collect(b, s));
    await eventually(() => ws.every((w) => w.events.length === 1), 3000, 'initial');
    const regs = await Promise.all(
      services.flatMap((service) =>
        ['x', 'y'].map((id) => a.register({ id, service, address: '127.0.0.1', port: 80 })),
      ),
    );
    await eventually(() => ws.every((w) => w.ids().join() === 'x,y'), 3000, 'every service sees x,y');
    await Promise.all(regs.filter((r) => r.instance.id === 'x').map((r) => r.setHealth('critical')));
    await eventually(
      () => ws.every((w) => w.view() === 'x:critical,y:passing'),
      3000,
      'every service sees the update',
    );
    expect((await a.services()).sort()).toEqual([...services].sort());
    await Promise.all(regs.map((r) => r.close()));
    await eventually(() => ws.every((w) => w.ids().length === 0), 3000, 'every removal seen');
    for (const w of ws) {
      expect(w.events.at(-1)!.snapshot.revision).toBe(5); // 2 puts, 1 update, 2 removals
      expect(w.events.some((e) => e.reason === 'resync')).toBe(false);
    }
    await Promise.all(ws.map((w) => w.stop()));
  });
});

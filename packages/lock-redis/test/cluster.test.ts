import { type RedisServer, startRedis } from '@switchyard/testkit/servers';
import { Cluster } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedisLock, createRedisReadWriteLock, createRedisSemaphore } from '../src/index.js';

// A real 3-master Redis Cluster (no replicas): every lock's keys share one hash tag, so the
// multi-key scripts run on one node; pub/sub notices cross the cluster bus.
let nodes: RedisServer[];
let cluster: Cluster;

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

describe('Redis Cluster', () => {
  it('mutex and fair lock: acquire, notify, hand off, list across masters', async () => {
    for (const fair of [false, true]) {
      const lock = createRedisLock({
        client: cluster,
        fair,
        pollInterval: 5000,
        prefix: fair ? 'cf:' : 'cm:',
      });
      const keys = ['alpha', 'beta', 'gamma', 'delta']; // spread over the slots
      const leases = await Promise.all(keys.map((k) => lock.acquire(k)));
      expect((await lock.list()).map((i) => i.key)).toEqual([...keys].sort());
      const waiter = lock.acquire('alpha', { wait: 5000 });
      await new Promise((r) => setTimeout(r, 100));
      const t0 = performance.now();
      await leases[0]!.release();
      const next = await waiter;
      expect(performance.now() - t0).toBeLessThan(400); // woken by the notice, not the poll
      expect(next.token).toBeGreaterThan(leases[0]!.token);
      await next.release();
      await Promise.all(leases.slice(1).map((l) => l.release()));
      expect(await lock.list()).toEqual([]);
      await lock.close();
    }
  });

  it('semaphore works on a cluster too', async () => {
    const sem = createRedisSemaphore({ client: cluster, permits: 2 });
    const a = await sem.acquire('pool');
    const b = await sem.acquire('pool');
    expect(await sem.tryAcquire('pool')).toBeUndefined();
    await a.release();
    await b.release();
    await sem.close();
  });

  it('keys with "}" (even first) and "%" work on every kind and are listed by their own name (#19.8)', async () => {
    const keys = ['}x', '}}', 'a}b', '%7D', '{y}', '}'];
    const lock = createRedisLock({ client: cluster, prefix: 'ck:' });
    const sem = createRedisSemaphore({ client: cluster, prefix: 'cs:', permits: 2 });
    const rw = createRedisReadWriteLock({ client: cluster, prefix: 'crw:' });
    try {
      for (const l of [lock, sem, rw.write, rw.read]) {
        const leases = await Promise.all(keys.map((k) => l.acquire(k, { wait: 2000 })));
        expect((await l.list()).map((i) => i.key).sort()).toEqual([...keys].sort());
        for (const [i, k] of keys.entries()) expect((await l.inspect(k))?.token).toBe(leases[i]!.token);
        await Promise.all(leases.map((x) => x.release()));
        expect(await l.list()).toEqual([]);
      }
      // Distinct keys stay distinct after escaping.
      const a = await lock.acquire('}');
      const b = await lock.acquire('%7D', { wait: 0 });
      await Promise.all([a.release(), b.release()]);
    } finally {
      await Promise.all([lock.close(), sem.close(), rw.close()]);
    }
  });
});

import { type RedisClusterServers, type RedisServer, startRedisCluster } from '@switchyard/testkit/servers';
import { Cluster } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedisLock, createRedisReadWriteLock, createRedisSemaphore } from '../src/index.js';

// A real 3-master Redis Cluster (no replicas): every lock's keys share one hash tag, so the
// multi-key scripts run on one node; pub/sub notices cross the cluster bus.
let servers: RedisClusterServers;
let _nodes: RedisServer[];
let cluster: Cluster;

beforeAll(async () => {
  servers = await startRedisCluster();
  _nodes = [...servers.nodes];
  cluster = new Cluster([...servers.startupNodes]);
  cluster.on('error', () => {});
  const end = Date.now() + 20_000;
  while ((await cluster.ping().catch(() => '')) !== 'PONG') {
    if (Date.now() > end) throw new Error('cluster client did not connect');
    await new Promise((r) => setTimeout(r, 100));
  }
});

afterAll(async () => {
  cluster?.disconnect();
  await servers?.stop();
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

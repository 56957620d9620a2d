import { randomUUID } from 'node:crypto';
import type { DistributedLock, LockAdmin } from '@switchyard/core';
import type { DemoDiscovery } from './k8s-discovery.js';

/**
 * Opt-in: run the same story on real servers instead of the in-memory backends:
 *
 *   pnpm demo --real            (or SWITCHYARD_DEMO_REAL=1 pnpm demo)
 *
 * The testkit harness starts a real `redis-server` and `etcd` on free loopback ports; the billing
 * workers' locks run on `@switchyard/lock-redis`, discovery on `@switchyard/discovery-etcd`. The
 * configuration store stays in memory until a config-center backend lands. Every key lives under a
 * prefix of its own per run, and the servers are stopped when the demo ends.
 */
export function realServersRequested(
  argv: readonly string[] = process.argv.slice(2),
  env: NodeJS.ProcessEnv = process.env,
): boolean {
  return argv.includes('--real') || env.SWITCHYARD_DEMO_REAL === '1' || env.SWITCHYARD_DEMO_REAL === 'true';
}

export interface RealServers {
  readonly discovery: DemoDiscovery;
  /** One lock client, as one process would open it. */
  locks(): DistributedLock & LockAdmin;
  readonly description: string;
  readonly redisUrl: string;
  readonly etcdEndpoints: readonly string[];
  close(): Promise<void>;
}

export async function startRealServers(): Promise<RealServers> {
  // Loaded only on request: the default in-memory demo never starts a server or loads a client.
  const [{ startEtcd, startRedis }, { createEtcdDiscovery }, { createRedisLock }] = await Promise.all([
    import('@switchyard/testkit/servers'),
    import('@switchyard/discovery-etcd'),
    import('@switchyard/lock-redis'),
  ]);
  const [redis, etcd] = await Promise.all([startRedis(), startEtcd()]);
  const run = randomUUID().slice(0, 8);
  const hosts = etcd.endpoints;
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await Promise.all([redis.stop(), etcd.stop()]);
  };
  return {
    discovery: {
      connect: () => createEtcdDiscovery({ hosts, prefix: `/switchyard-demo/${run}/services` }),
      // the servers outlive every client: they are stopped by `close()` below, after the demo
      close: async () => {},
      description: `discovery-etcd on etcd ${hosts.join(',')}`,
    },
    locks: () => createRedisLock({ url: redis.url, prefix: `switchyard-demo:${run}:lock:`, ttl: 2000 }),
    description: `locks on lock-redis at ${redis.url}, discovery on etcd ${hosts.join(',')} (config in memory)`,
    redisUrl: redis.url,
    etcdEndpoints: hosts,
    close: stop,
  };
}

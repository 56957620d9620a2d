import { type RedisServer, startRedis } from '@switchyard/testkit/servers';
import { Cluster } from 'ioredis';

/** A real 3-master Redis Cluster (no replicas) on loopback, as in lock-redis' cluster test. */
export interface TestCluster {
  nodes: RedisServer[];
  connect(): Cluster;
  stop(): Promise<void>;
}

async function until(probe: () => Promise<boolean>, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await probe().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('cluster did not converge');
}

export async function startRedisCluster(): Promise<TestCluster> {
  const nodes = await Promise.all(
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
  const clients: Cluster[] = [];
  const connect = () => {
    const c = new Cluster(nodes.map((n) => ({ host: n.host, port: n.port })));
    c.on('error', () => {});
    clients.push(c);
    return c;
  };
  const probe = connect();
  await until(async () => (await probe.ping()) === 'PONG');
  return {
    nodes,
    connect,
    async stop() {
      for (const c of clients) c.disconnect();
      await Promise.all(nodes.map((n) => n.stop()));
    },
  };
}

import { type RedisServer, startRedisCluster as startTestkitCluster } from '@switchyard/testkit/servers';
import { Cluster } from 'ioredis';

/** A real 3-master Redis Cluster (no replicas) on loopback, as in lock-redis' cluster test. */
export interface TestCluster {
  nodes: RedisServer[];
  connect(): Cluster;
  stop(): Promise<void>;
}

export async function startRedisCluster(): Promise<TestCluster> {
  const servers = await startTestkitCluster();
  const nodes = [...servers.nodes];
  const clients: Cluster[] = [];
  const connect = () => {
    const c = new Cluster([...servers.startupNodes]);
    c.on('error', () => {});
    clients.push(c);
    return c;
  };
  const probe = connect();
  const end = Date.now() + 20_000;
  while ((await probe.ping().catch(() => '')) !== 'PONG') {
    if (Date.now() > end) throw new Error('cluster client did not connect');
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    nodes,
    connect,
    async stop() {
      for (const c of clients) c.disconnect();
      await servers.stop();
    },
  };
}

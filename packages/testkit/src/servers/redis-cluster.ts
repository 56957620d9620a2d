import { freePort } from './ports.js';
import { type RedisServer, startRedis } from './redis.js';

export interface RedisClusterServers extends AsyncDisposable {
  /** The masters, each owning an equal share of the 16 384 slots. */
  readonly nodes: readonly RedisServer[];
  /** `{ host, port }` of every master: pass it to `new Cluster(…)` (ioredis). */
  readonly startupNodes: readonly { host: string; port: number }[];
  stop(): Promise<void>;
}

/**
 * A real Redis Cluster of `masters` masters (no replicas, default 3) on loopback. Each node's
 * cluster-bus port is chosen free too (`--cluster-port`): the default bus port (port + 10 000) may
 * be taken on a busy machine, which made cluster tests fail at random.
 */
export async function startRedisCluster(options: { masters?: number } = {}): Promise<RedisClusterServers> {
  const n = options.masters ?? 3;
  const nodes: RedisServer[] = [];
  const buses: number[] = [];
  try {
    for (let i = 0; i < n; i++) {
      const bus = await freePort();
      buses.push(bus);
      nodes.push(
        await startRedis({
          args: [
            '--cluster-enabled',
            'yes',
            '--cluster-config-file',
            'nodes.conf',
            '--cluster-port',
            String(bus),
          ],
        }),
      );
    }
    const per = Math.floor(16_384 / n);
    await Promise.all(
      nodes.map((node, i) =>
        node.command(`CLUSTER ADDSLOTSRANGE ${i * per} ${i === n - 1 ? 16_383 : (i + 1) * per - 1}`),
      ),
    );
    for (let i = 1; i < n; i++)
      await nodes[0]!.command(`CLUSTER MEET 127.0.0.1 ${nodes[i]!.port} ${buses[i]}`);
    const deadline = Date.now() + 30_000;
    for (;;) {
      const infos = await Promise.all(nodes.map((node) => node.command('CLUSTER INFO').catch(() => '')));
      if (infos.every((r) => r.includes('cluster_state:ok'))) break;
      if (Date.now() > deadline) throw new Error('[testkit] redis cluster did not converge within 30 s');
      await new Promise((r) => setTimeout(r, 100));
    }
  } catch (error) {
    await Promise.all(nodes.map((node) => node.stop()));
    throw error;
  }
  const servers: RedisClusterServers = {
    nodes,
    startupNodes: nodes.map((node) => ({ host: node.host, port: node.port })),
    stop: async () => void (await Promise.all(nodes.map((node) => node.stop()))),
    [Symbol.asyncDispose]: () => servers.stop(),
  };
  return servers;
}

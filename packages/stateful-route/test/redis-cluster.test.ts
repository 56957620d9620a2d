import { type RedisClusterServers, startRedisCluster } from '@switchyard/testkit/servers';
import { Cluster } from 'ioredis';
import { createRedisRouteStore } from '../src/index.js';
import { runRouteConformance } from './route-conformance.js';

// The same suite on a 3-master Redis Cluster: every script touches one service's keys, all under
// the hash tag `{service}`, so no call crosses a slot.
let cluster: RedisClusterServers;
const clients: Cluster[] = [];
runRouteConformance({
  name: 'redis cluster',
  ttl: 3_000,
  async store() {
    cluster ??= await startRedisCluster({ masters: 3 });
    const client = new Cluster([...cluster.startupNodes]);
    clients.push(client);
    return createRedisRouteStore({ client, requestTimeout: 2_000 });
  },
  async teardown() {
    for (const c of clients) c.disconnect();
    await cluster.stop();
  },
});

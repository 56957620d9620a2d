import { createEtcdDiscovery } from '@switchyard/discovery-etcd';
import { createRedisDiscovery } from '@switchyard/discovery-redis';
import { type EtcdCluster, type RedisServer, startEtcd, startRedis } from '@switchyard/testkit/servers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { discoveryCommandSuite } from './discovery-suite.js';
import { runBinary } from './run-binary.js';

let etcd: EtcdCluster;
let redis: RedisServer;

beforeAll(async () => {
  [etcd, redis] = await Promise.all([startEtcd(), startRedis()]);
});
afterAll(async () => {
  await Promise.all([etcd?.stop(), redis?.stop()]);
});

describe('switchyard discovery on etcd (built binary)', () => {
  discoveryCommandSuite(
    'etcd',
    () => ['--etcd', etcd.endpoints.join(',')],
    () => createEtcdDiscovery({ hosts: etcd.endpoints }),
  );

  it('a custom --prefix reaches instances registered under it', async () => {
    await using d = createEtcdDiscovery({ hosts: etcd.endpoints, prefix: '/team-a/services' });
    await using _r = await d.register({ id: 'p-1', service: 'pay', address: '10.1.0.1', port: 80 });
    const def = await runBinary(['discovery', 'resolve', 'pay', '--etcd', etcd.endpoints.join(',')]);
    expect(def.code).toBe(3);
    const scoped = await runBinary(
      ['discovery', 'resolve', 'pay', '--prefix', '/team-a/services', '--json'],
      {
        env: { SWITCHYARD_ETCD: etcd.endpoints.join(',') },
      },
    );
    expect(scoped.code).toBe(0);
  });
});

describe('switchyard discovery on Redis (built binary)', () => {
  discoveryCommandSuite(
    'redis',
    () => ['--redis', redis.url],
    () => createRedisDiscovery({ url: redis.url }),
  );
});

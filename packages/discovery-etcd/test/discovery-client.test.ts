import { createDiscoveryClient } from '@switchyard/core';
import { eventually } from '@switchyard/testkit/conformance';
import { type EtcdCluster, startEtcd } from '@switchyard/testkit/servers';
import { Etcd3 } from 'etcd3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEtcdDiscovery } from '../src/index.js';
import { startTcpProxy } from './tcp-proxy.js';

let etcd: EtcdCluster;
let raw: Etcd3;

beforeAll(async () => {
  etcd = await startEtcd({ members: 1 });
  raw = new Etcd3({ hosts: etcd.endpoints });
});
afterAll(async () => {
  raw?.close();
  await etcd?.stop();
});

describe("core's discovery client over etcd", () => {
  it('serves resolve from one watch and converges after a compaction gap', async () => {
    const prefix = '/client';
    const proxy = await startTcpProxy(etcd.endpoints[0]!);
    await using writer = createEtcdDiscovery({ hosts: etcd.endpoints, prefix, ttl: 3000 });
    await using backend = createEtcdDiscovery({
      hosts: [proxy.endpoint],
      prefix,
      requestTimeout: 1000,
      backoff: { max: 500 },
    });
    await using client = createDiscoveryClient({ backend, resyncInterval: 0 });
    const ids = async () => (await client.resolve('api')).instances.map((i) => i.id).join();

    const r1 = await writer.register({ id: 'i1', service: 'api', address: '127.0.0.1', port: 1 });
    expect(await ids()).toBe('i1');
    await using _r2 = await writer.register({ id: 'i2', service: 'api', address: '127.0.0.1', port: 2 });
    await eventually(async () => (await ids()) === 'i1,i2', 2000, 'cache follows the watch');
    const before = client.status('api');
    expect(before.watchesOpened).toBe(1);

    proxy.block();
    await new Promise((r) => setTimeout(r, 200));
    await r1.close();
    await using _r3 = await writer.register({ id: 'i3', service: 'api', address: '127.0.0.1', port: 3 });
    const put = await raw.put('/client-bump').value('x').exec();
    await raw.kv.compact({ revision: put.header.revision, physical: true });
    proxy.unblock();

    await eventually(async () => (await ids()) === 'i2,i3', 10_000, 'cache converges after the gap');
    expect(client.status('api').backendRevision).toBeGreaterThan(before.backendRevision);
    await proxy.close();
  });
});

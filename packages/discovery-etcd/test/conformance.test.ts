import { runDiscoveryConformance } from '@switchyard/testkit/conformance';
import { type EtcdCluster, startEtcd } from '@switchyard/testkit/servers';
import { Etcd3 } from 'etcd3';
import { afterAll, beforeAll } from 'vitest';
import { createEtcdDiscovery } from '../src/index.js';

let etcd: EtcdCluster;
let run = 0;

beforeAll(async () => {
  etcd = await startEtcd({ members: 1 });
});
afterAll(async () => {
  await etcd?.stop();
});

runDiscoveryConformance({
  name: 'etcd (single member)',
  ttlGranularity: 'seconds',
  create: async () => {
    // A prefix per test keeps tests independent on the shared server.
    const prefix = `/conformance/${++run}`;
    const a = createEtcdDiscovery({ hosts: etcd.endpoints, prefix, ttl: 2000 });
    const b = createEtcdDiscovery({ hosts: etcd.endpoints, prefix, ttl: 2000 });
    return {
      a,
      b,
      cleanup: async () => {
        await Promise.all([a.close(), b.close()]);
      },
      // The server forgets every registration: all leases revoked.
      forget: async () => {
        const raw = new Etcd3({ hosts: etcd.endpoints });
        try {
          const { leases } = await raw.leaseClient.leaseLeases();
          await Promise.all(leases.map((l) => raw.leaseClient.leaseRevoke({ ID: l.ID })));
        } finally {
          raw.close();
        }
      },
      interrupt: async () => {
        const member = etcd.members[0]!;
        await member.process.restart();
        await etcd.waitHealthy();
      },
    };
  },
});

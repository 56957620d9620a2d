import { runLockConformance } from '@switchyard/testkit/conformance';
import { type EtcdCluster, startEtcd } from '@switchyard/testkit/servers';
import { afterAll, beforeAll } from 'vitest';
import { createEtcdLock } from '../src/index.js';

let etcd: EtcdCluster;
beforeAll(async () => {
  etcd = await startEtcd({ members: 1 });
});
afterAll(async () => {
  await etcd?.stop();
});

runLockConformance({
  name: 'etcd',
  ttlGranularity: 'seconds',
  shortTtl: 1000,
  create: async () => {
    const a = createEtcdLock({ hosts: etcd.endpoints, prefix: 'conformance' });
    const b = createEtcdLock({ hosts: etcd.endpoints, prefix: 'conformance' });
    return {
      a,
      b,
      cleanup: async () => {
        await Promise.all([a.close(), b.close()]);
      },
    };
  },
});

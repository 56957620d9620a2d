import { runLockConformance } from '@switchyard/testkit/conformance';
import { type EtcdCluster, startEtcd } from '@switchyard/testkit/servers';
import { afterAll, beforeAll } from 'vitest';
import { createEtcdElection } from '../src/index.js';

// The shared suite on the lock an election's candidates queue on.
let etcd: EtcdCluster;
beforeAll(async () => {
  etcd = await startEtcd({ members: 1 });
});
afterAll(async () => {
  await etcd?.stop();
});

runLockConformance({
  name: 'etcd election (its lock)',
  ttlGranularity: 'seconds',
  shortTtl: 500, // a sub-second lease is valid for exactly its ttl (the etcd lease behind it is 1 s+)
  create: async () => {
    const make = () =>
      createEtcdElection({ hosts: etcd.endpoints, prefix: '/conformance-election', pollInterval: 5000 });
    const a = make();
    const b = make();
    return { a: a.lock, b: b.lock, cleanup: async () => void (await Promise.all([a.close(), b.close()])) };
  },
});

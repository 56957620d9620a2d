import { runLockConformance } from '@switchyard/testkit/conformance';
import { type EtcdCluster, startEtcd } from '@switchyard/testkit/servers';
import { afterAll, beforeAll } from 'vitest';
import { createEtcdSemaphore } from '../src/index.js';

// The shared suite on the semaphore, 1 and 3 permits (the mutex kinds are in conformance.test.ts,
// the election's lock in conformance-election.test.ts: the files run in parallel).
let etcd: EtcdCluster;
beforeAll(async () => {
  etcd = await startEtcd({ members: 1 });
});
afterAll(async () => {
  await etcd?.stop();
});

for (const permits of [1, 3]) {
  runLockConformance({
    name: `etcd semaphore (${permits} permit${permits > 1 ? 's' : ''})`,
    permits,
    ttlGranularity: 'seconds',
    shortTtl: 500, // a sub-second lease is valid for exactly its ttl (the etcd lease behind it is 1 s+)
    create: async () => {
      const make = () =>
        createEtcdSemaphore({
          hosts: etcd.endpoints,
          prefix: '/conformance-sem',
          permits,
          pollInterval: 5000,
        });
      const a = make();
      const b = make();
      return { a, b, cleanup: async () => void (await Promise.all([a.close(), b.close()])) };
    },
  });
}

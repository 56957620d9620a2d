import { runLockConformance } from '@switchyard/testkit/conformance';
import { type EtcdCluster, startEtcd } from '@switchyard/testkit/servers';
import { afterAll, beforeAll } from 'vitest';
import { createEtcdLock } from '../src/index.js';

// Every lock kind runs the shared suite (this file: the mutex, plain and reentrant; the semaphore
// and the election's lock are in conformance-semaphore.test.ts and conformance-election.test.ts, so the files run in
// parallel). The fallback poll is long, so only watch notifications can pass the wake-up bound.
// Timing slack of the 'seconds' group: the lease behind a lock is whole seconds (a crashed
// holder's lock frees at that granularity), and a client's first acquire with a new TTL grants
// that lease first (one more round trip), so arrival order at etcd can trail call order by it.
let etcd: EtcdCluster;
beforeAll(async () => {
  etcd = await startEtcd({ members: 1 });
});
afterAll(async () => {
  await etcd?.stop();
});

for (const [name, extra] of [
  ['etcd', {}],
  ['etcd (reentrant)', { reentrant: true }],
] as const) {
  runLockConformance({
    name,
    ttlGranularity: 'seconds',
    shortTtl: 500, // a sub-second lease is valid for exactly its ttl (the etcd lease behind it is 1 s+)
    create: async () => {
      const a = createEtcdLock({
        hosts: etcd.endpoints,
        prefix: '/conformance',
        pollInterval: 5000,
        ...extra,
      });
      const b = createEtcdLock({
        hosts: etcd.endpoints,
        prefix: '/conformance',
        pollInterval: 5000,
        ...extra,
      });
      return { a, b, cleanup: async () => void (await Promise.all([a.close(), b.close()])) };
    },
  });
}

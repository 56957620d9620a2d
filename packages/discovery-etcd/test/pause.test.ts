import type { DiscoveryEvent, Registration } from '@switchyard/core';
import { eventually } from '@switchyard/testkit/conformance';
import { type EtcdCluster, startEtcd } from '@switchyard/testkit/servers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEtcdDiscovery } from '../src/index.js';

const TTL = 5000;
let etcd: EtcdCluster;

beforeAll(async () => {
  // Let clients ping every second, so a frozen member is noticed quickly.
  etcd = await startEtcd({ members: 3, args: ['--grpc-keepalive-min-time', '1s'] });
});
afterAll(async () => {
  await etcd?.stop();
});

describe('fault: 3-member cluster, frozen member', () => {
  it('pausing (SIGSTOP) any member: HTTP/2 pings move streams to the others, nothing stops', async () => {
    const opts = {
      hosts: etcd.endpoints,
      prefix: '/pause',
      ttl: TTL,
      requestTimeout: 1000,
      clientOptions: {
        grpcOptions: { 'grpc.keepalive_time_ms': 1000, 'grpc.keepalive_timeout_ms': 1000 },
      },
    };
    await using a = createEtcdDiscovery(opts);
    await using b = createEtcdDiscovery(opts);
    const service = 'api';
    await using r0 = await a.register({ id: 'i0', service, address: '127.0.0.1', port: 1 });
    const log: string[] = [];
    r0.on('registration:lost', () => log.push('lost'));
    r0.on('registration:restored', () => log.push('restored'));
    const events: DiscoveryEvent[] = [];
    const ac = new AbortController();
    const loop = (async () => {
      for await (const e of b.watch(service, { signal: ac.signal })) events.push(e);
    })();
    const ids = () => (events.at(-1)?.snapshot.instances ?? []).map((i) => i.id).join();
    await eventually(() => ids() === 'i0', 2000, 'initial');

    for (const [n, member] of etcd.members.entries()) {
      member.process.pause();
      try {
        let reg: Registration | undefined;
        await eventually(
          async () => {
            reg ??= await a
              .register({ id: `p${n}`, service, address: '127.0.0.1', port: 10 + n })
              .catch(() => undefined);
            return reg !== undefined;
          },
          10_000,
          `register while ${member.name} is frozen`,
        );
        await eventually(
          () => ids() === `i0,p${n}`,
          10_000,
          `watch sees p${n} while ${member.name} is frozen`,
        );
        await reg!.close();
        await eventually(() => ids() === 'i0', 10_000, `watch sees p${n} leave`);
      } finally {
        member.process.resume();
      }
      await etcd.waitHealthy();
    }
    await eventually(
      async () => (await b.resolve(service)).instances.map((i) => i.id).join() === 'i0',
      TTL,
      'the long-lived registration is there',
    );
    // A keep-alive stuck on a frozen member may lose the lease; if so, it was restored.
    expect(log.join()).toMatch(/^(lost,restored(,|$))*$/);
    ac.abort();
    await loop;
  });
});

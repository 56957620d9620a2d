import type { DiscoveryEvent, Registration } from '@switchyard/core';
import { eventually } from '@switchyard/testkit/conformance';
import { type EtcdCluster, startEtcd } from '@switchyard/testkit/servers';
import { Etcd3, type Watcher } from 'etcd3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEtcdDiscovery, requireLeaderCallOptions } from '../src/index.js';

const TTL = 4000;
let etcd: EtcdCluster;

beforeAll(async () => {
  etcd = await startEtcd({ members: 3 });
});
afterAll(async () => {
  await etcd?.stop();
});

describe('fault: 3-member cluster', () => {
  it('killing any member (so also the one a client talks to) stops neither registrations nor watches', async () => {
    const opts = { hosts: etcd.endpoints, prefix: '/cluster', ttl: TTL, requestTimeout: 1000 };
    await using a = createEtcdDiscovery(opts);
    await using b = createEtcdDiscovery(opts);
    const service = 'api';
    await using r0 = await a.register({ id: 'i0', service, address: '127.0.0.1', port: 1 });
    const lost: string[] = [];
    r0.on('registration:lost', () => lost.push('lost'));
    const events: DiscoveryEvent[] = [];
    const ac = new AbortController();
    const loop = (async () => {
      for await (const e of b.watch(service, { signal: ac.signal })) events.push(e);
    })();
    const ids = () => (events.at(-1)?.snapshot.instances ?? []).map((i) => i.id).join();
    await eventually(() => ids() === 'i0', 2000, 'initial');

    // Every member is killed once: whichever member a stream is on, it is killed at some point.
    for (const [n, member] of etcd.members.entries()) {
      await member.process.kill();
      await etcd.waitHealthy();
      let reg: Registration | undefined;
      await eventually(
        async () => {
          reg ??= await a
            .register({ id: `k${n}`, service, address: '127.0.0.1', port: 10 + n })
            .catch(() => undefined);
          return reg !== undefined;
        },
        5000,
        `register while ${member.name} is down`,
      );
      await eventually(() => ids() === `i0,k${n}`, 5000, `watch sees k${n} while ${member.name} is down`);
      // Longer than a TTL with the member down: keep-alives reached the surviving members.
      await new Promise((r) => setTimeout(r, TTL + 500));
      expect((await b.resolve(service)).instances.map((i) => i.id)).toEqual(['i0', `k${n}`]);
      await reg!.close();
      await eventually(() => ids() === 'i0', 5000, `watch sees k${n} leave`);
      await member.process.start();
      await etcd.waitHealthy();
    }
    expect(lost).toEqual([]);
    const revisions = events.map((e) => e.snapshot.revision);
    expect([...revisions].sort((x, y) => x - y)).toEqual(revisions);
    ac.abort();
    await loop;
  });

  it('leader-required watch streams are refused by a member without a leader; plain ones are not', async () => {
    const [m0, m1, m2] = etcd.members;
    await Promise.all([m1!.process.kill(), m2!.process.kill()]);
    // m0 alone has no quorum: after a few election timeouts it has no leader.
    await new Promise((r) => setTimeout(r, 2500));
    const outcome = (client: Etcd3) =>
      new Promise<string>((resolve) => {
        const w: Watcher = client.watch().key('leader-probe').watcher();
        w.once('connected', () => resolve('connected'));
        w.once('disconnected', (err: Error) => resolve(`refused: ${err.message}`));
        w.on('error', () => {});
      });
    const leaderRequired = new Etcd3({ hosts: m0!.endpoint, defaultCallOptions: requireLeaderCallOptions() });
    const plain = new Etcd3({ hosts: m0!.endpoint });
    try {
      expect(await outcome(leaderRequired)).toMatch(/refused: .*no leader/);
      expect(await outcome(plain)).toBe('connected');
    } finally {
      leaderRequired.close();
      plain.close();
      await Promise.all([m1!.process.start(), m2!.process.start()]);
    }
  });

  it('killing the leader and bringing it back: register/resolve calls under load move to healthy members without failing', async () => {
    const opts = { hosts: etcd.endpoints, prefix: '/leader-kill', ttl: TTL, requestTimeout: 2000 };
    await using d = createEtcdDiscovery(opts);
    // Find the leader: ask each member whom it follows.
    let leader: (typeof etcd.members)[number] | undefined;
    for (const m of etcd.members) {
      const c = new Etcd3({ hosts: m.endpoint });
      try {
        const st = await c.maintenance.status();
        if (st.leader === st.header.member_id) leader = m;
      } finally {
        c.close();
      }
    }
    expect(leader, 'a leader').toBeDefined();
    let ok = 0;
    const failures: string[] = [];
    let running = true;
    const worker = async (w: number) => {
      for (let i = 0; running; i++) {
        try {
          const reg = await d.register({
            id: `w${w}-${i}`,
            service: 'load',
            address: '127.0.0.1',
            port: 1000 + w,
          });
          await d.resolve('load');
          await reg.close();
          ok++;
        } catch (error) {
          failures.push((error as Error).message);
        }
      }
    };
    const workers = [0, 1, 2, 3].map(worker);
    await new Promise((r) => setTimeout(r, 500));
    await leader!.process.kill();
    await new Promise((r) => setTimeout(r, 2000));
    await leader!.process.start();
    await etcd.waitHealthy();
    await new Promise((r) => setTimeout(r, 2000));
    running = false;
    await Promise.all(workers);
    expect(ok).toBeGreaterThan(20);
    expect(failures, failures.slice(0, 3).join(' | ')).toEqual([]);
  });
});

import { randomUUID } from 'node:crypto';
import { isSwitchyardError, type LockLease } from '@switchyard/core';
import { delay, eventually, settleWithin } from '@switchyard/testkit/conformance';
import { type EtcdCluster, startEtcd } from '@switchyard/testkit/servers';
import { Etcd3 } from 'etcd3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEtcdLock, type EtcdLock } from '../src/index.js';

let etcd: EtcdCluster;
const unhandled: unknown[] = [];
const onUnhandled = (e: unknown) => unhandled.push(e);

beforeAll(async () => {
  process.on('unhandledRejection', onUnhandled);
  etcd = await startEtcd({ members: 3 });
});
afterAll(async () => {
  process.off('unhandledRejection', onUnhandled);
  await etcd?.stop();
});

async function leaderIndex(): Promise<number> {
  for (const [i, m] of etcd.members.entries()) {
    const c = new Etcd3({ hosts: m.endpoint });
    try {
      const status = await c.maintenance.status();
      if (status.leader === status.header.member_id) return i;
    } finally {
      c.close();
    }
  }
  throw new Error('no leader found');
}

describe('3-member cluster, member killed mid-operation', () => {
  it('leader killed: no two valid holders overlap; every acquire ends in a lease or a typed error; nothing hangs', async () => {
    const prefix = `cluster-${randomUUID().slice(0, 8)}`;
    const locks: EtcdLock[] = [0, 1, 2].map(() =>
      createEtcdLock({ hosts: etcd.endpoints, prefix, ttl: 2000, requestTimeout: 1000 }),
    );
    const inside = new Set<LockLease>();
    const tokens: bigint[] = [];
    let overlaps = 0;
    let acquired = 0;
    const failures: unknown[] = [];
    let stop = false;
    const worker = async (lock: EtcdLock) => {
      while (!stop) {
        let lease: LockLease;
        try {
          lease = await lock.acquire('shared', { wait: 3000 });
        } catch (error) {
          failures.push(error);
          await delay(20);
          continue;
        }
        acquired++;
        for (const other of inside) if (!other.signal.aborted) overlaps++;
        inside.add(lease);
        tokens.push(lease.token);
        await delay(Math.random() * 10);
        inside.delete(lease);
        await lease.release().catch((e: unknown) => failures.push(e));
      }
    };
    const running = Promise.all(locks.flatMap((l) => [worker(l), worker(l)]));
    await eventually(() => acquired >= 10, 15_000, 'progress before the kill');
    const before = acquired;
    // Kill the Raft leader: lease keep-alives, writes and watches all have to move.
    const victim = etcd.members[await leaderIndex()]!;
    await victim.process.kill();
    // Progress continues on the surviving quorum while the member is down...
    await eventually(() => acquired >= before + 10, 15_000, 'progress with a member down');
    const during = acquired;
    await victim.process.start();
    await etcd.waitHealthy();
    // ...and after it comes back.
    await eventually(() => acquired >= during + 5, 15_000, 'progress after the restart');
    stop = true;
    const outcome = await settleWithin(running, 15_000);
    expect(outcome, 'workers finished').not.toBe('timeout');
    expect(overlaps).toBe(0);
    for (let i = 1; i < tokens.length; i++) expect(tokens[i]! > tokens[i - 1]!).toBe(true);
    for (const f of failures) expect(isSwitchyardError(f), String(f)).toBe(true);
    await Promise.all(locks.map((l) => l.close()));
    expect(unhandled).toEqual([]);
  }, 60_000);

  it('a client that talks only to the killed member gets typed errors and its lease is lost, never a hang', async () => {
    const prefix = `pinned-${randomUUID().slice(0, 8)}`;
    const member = etcd.members[1]!;
    const pinned = createEtcdLock({ hosts: member.endpoint, prefix, ttl: 1000, requestTimeout: 500 });
    const other = createEtcdLock({ hosts: etcd.endpoints, prefix, ttl: 1000 });
    try {
      const lease = await pinned.acquire('k');
      await member.process.kill();
      await eventually(() => lease.signal.aborted, 3000, 'pinned lease lost');
      const attempt = await settleWithin(
        pinned.acquire('k2', { wait: 1000 }).catch((e: unknown) => e),
        5000,
      );
      expect(isSwitchyardError(attempt, 'LOCK_TIMEOUT', 'BACKEND_UNAVAILABLE'), String(attempt)).toBe(true);
      // The rest of the cluster hands the lock on once the dead client's lease expires.
      const next = await other.acquire('k', { wait: 10_000 });
      expect(next.token > lease.token).toBe(true);
      await next.release();
    } finally {
      await member.process.start();
      await pinned.close();
      await other.close();
    }
    expect(unhandled).toEqual([]);
  }, 40_000);
});

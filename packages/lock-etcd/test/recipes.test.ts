import { randomUUID } from 'node:crypto';
import { SwitchyardError } from '@switchyard/core';
import { delay, eventually, expectSwitchyardError } from '@switchyard/testkit/conformance';
import { type EtcdCluster, startEtcd } from '@switchyard/testkit/servers';
import { Etcd3 } from 'etcd3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createEtcdElection,
  createEtcdLock,
  createEtcdSemaphore,
  fencedPut,
  type Leader,
} from '../src/index.js';

let etcd: EtcdCluster;
let raw: Etcd3;
const prefix = `recipes-${randomUUID().slice(0, 8)}`;

beforeAll(async () => {
  etcd = await startEtcd({ members: 1 });
  raw = new Etcd3({ hosts: etcd.endpoints });
});
afterAll(async () => {
  raw?.close();
  await etcd?.stop();
});

describe('semaphore', () => {
  it('admits exactly N holders, FIFO after that, and validates permits', async () => {
    await expectSwitchyardError(
      () => createEtcdSemaphore({ client: raw, permits: 0 }),
      'INVALID_ARGUMENT',
      'permits',
    );
    await expectSwitchyardError(
      () => createEtcdSemaphore({ client: raw, permits: 1.5 }),
      'INVALID_ARGUMENT',
      'permits',
    );
    await using s1 = createEtcdSemaphore({ client: raw, prefix, permits: 2, ttl: 2000 });
    await using s2 = createEtcdSemaphore({ hosts: etcd.endpoints, prefix, permits: 2, ttl: 2000 });
    const p1 = await s1.acquire('pool');
    const p2 = await s2.acquire('pool', { wait: 0 });
    expect(await s1.tryAcquire('pool')).toBeUndefined();
    const order: string[] = [];
    const w3 = s2.acquire('pool', { wait: 10_000 }).then((l) => {
      order.push('w3');
      return l;
    });
    await delay(100);
    const w4 = s1.acquire('pool', { wait: 10_000 }).then((l) => {
      order.push('w4');
      return l;
    });
    await delay(100);
    expect(order).toEqual([]);
    await p2.release();
    const l3 = await w3;
    expect(order).toEqual(['w3']);
    await p1.release();
    const l4 = await w4;
    expect(order).toEqual(['w3', 'w4']);
    expect(l4.token > l3.token).toBe(true);
    await Promise.all([l3.release(), l4.release()]);
  });

  it('never over-admits under concurrency', async () => {
    await using sem = createEtcdSemaphore({ client: raw, prefix, permits: 3, ttl: 2000 });
    let inside = 0;
    let max = 0;
    await Promise.all(
      Array.from({ length: 12 }, async () => {
        const l = await sem.acquire('busy', { wait: 20_000 });
        inside++;
        max = Math.max(max, inside);
        await delay(5 + Math.random() * 10);
        inside--;
        await l.release();
      }),
    );
    expect(max).toBe(3);
  });
});

describe('leader election', () => {
  it('campaign, observe, proclaim, resign and hand-over in campaign order', async () => {
    await using e1 = createEtcdElection({ client: raw, prefix, ttl: 2000 });
    await using e2 = createEtcdElection({ hosts: etcd.endpoints, prefix, ttl: 2000 });
    await expectSwitchyardError(() => e1.leader(''), 'INVALID_ARGUMENT', 'election');
    await expectSwitchyardError(() => e1.campaign('', 'v'), 'INVALID_ARGUMENT', 'election');
    await expectSwitchyardError(() => e1.campaign('x', 5 as unknown as string), 'INVALID_ARGUMENT', 'value');
    expect(() => e1.observe('')).toThrow(/election/);
    expect(await e1.leader('jobs')).toBeUndefined();
    const ac = new AbortController();
    const seen: (Leader | undefined)[] = [];
    const observing = (async () => {
      for await (const l of e2.observe('jobs', { signal: ac.signal })) seen.push(l);
    })();
    await eventually(() => seen.length === 1, 2000, 'initial observation');
    expect(seen[0]).toBeUndefined();
    const n1 = await e1.campaign('jobs', 'node-1');
    expect(n1.signal.aborted).toBe(false);
    const second = e2.campaign('jobs', 'node-2', { wait: 10_000 });
    await eventually(() => seen.at(-1)?.value === 'node-1', 2000, 'node-1 observed');
    expect((await e2.leader('jobs'))?.token).toBe(n1.token);
    await n1.proclaim('node-1:busy');
    await eventually(() => seen.at(-1)?.value === 'node-1:busy', 2000, 'proclaim observed');
    expect(await n1.resign()).toBe(true);
    await expectSwitchyardError(n1.proclaim('late'), 'LOCK_LOST');
    const n2 = await second;
    expect(n2.token > n1.token).toBe(true);
    await eventually(() => seen.at(-1)?.value === 'node-2', 2000, 'node-2 observed');
    await n2.release();
    await eventually(() => seen.at(-1) === undefined, 2000, 'no leader observed');
    ac.abort();
    await observing;
  });

  it('a leader whose session dies loses leadership and the next candidate takes over', async () => {
    const e1 = createEtcdElection({ hosts: etcd.endpoints, prefix, ttl: 1000 });
    await using e2 = createEtcdElection({ client: raw, prefix, ttl: 1000 });
    const n1 = await e1.campaign('failover', 'a');
    const next = e2.campaign('failover', 'b', { wait: 10_000 });
    // Simulate a crashed leader: its lease is revoked server-side.
    const info = await raw.getAll().prefix(`${prefix}/failover/`).sort('Create', 'Ascend').exec();
    await raw.leaseClient.leaseRevoke({ ID: info.kvs[0]!.lease });
    const n2 = await next;
    expect(n2.token > n1.token).toBe(true);
    await eventually(() => n1.signal.aborted, 3000, 'old leader learns');
    expect(SwitchyardError.is(n1.signal.reason, 'LOCK_LOST')).toBe(true);
    await n2.resign();
    await e1.close();
  });
});

describe('fencedPut', () => {
  it('accepts the current and newer tokens and rejects a stale holder', async () => {
    const lock = createEtcdLock({ client: raw, prefix, ttl: 2000 });
    try {
      const res = `${prefix}-resource`;
      const first = await lock.acquire('fenced');
      expect(await fencedPut(raw, { key: res, value: 'one', token: first.token })).toEqual({
        applied: true,
        fence: first.token,
      });
      expect((await fencedPut(raw, { key: res, value: 'one-again', token: first.token })).applied).toBe(true);
      await lock.forceRelease('fenced');
      const second = await lock.acquire('fenced', { wait: 5000 });
      expect((await fencedPut(raw, { key: res, value: 'two', token: second.token })).applied).toBe(true);
      const stale = await fencedPut(raw, { key: res, value: 'stale', token: first.token });
      expect(stale).toEqual({ applied: false, fence: second.token });
      expect(await raw.get(res).string()).toBe('two');
      await second.release();
      await first.release();
      await expectSwitchyardError(
        () => fencedPut(raw, { key: res, value: 'x', token: -1n }),
        'INVALID_ARGUMENT',
        'token',
      );
      await expectSwitchyardError(
        () => fencedPut(raw, { key: '', value: 'x', token: 1n }),
        'INVALID_ARGUMENT',
        'key',
      );
    } finally {
      await lock.close();
    }
  });
});

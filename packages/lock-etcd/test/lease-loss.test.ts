import { randomUUID } from 'node:crypto';
import { isSwitchyardError, SwitchyardError } from '@switchyard/core';
import { eventually, settleWithin } from '@switchyard/testkit/conformance';
import { type EtcdCluster, startEtcd } from '@switchyard/testkit/servers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEtcdLock, type EtcdLock } from '../src/index.js';

let etcd: EtcdCluster;
let a: EtcdLock;
let b: EtcdLock;
const unhandled: unknown[] = [];
const onUnhandled = (e: unknown) => unhandled.push(e);

beforeAll(async () => {
  process.on('unhandledRejection', onUnhandled);
  etcd = await startEtcd({ members: 1 });
  const prefix = `loss-${randomUUID().slice(0, 8)}`;
  a = createEtcdLock({ hosts: etcd.endpoints, prefix, requestTimeout: 1500 });
  b = createEtcdLock({ hosts: etcd.endpoints, prefix, requestTimeout: 1500 });
});
afterAll(async () => {
  process.off('unhandledRejection', onUnhandled);
  etcd.members[0]?.process.resume();
  await a?.close();
  await b?.close();
  await etcd?.stop();
});

describe('lease loss', () => {
  it('keep-alive failure (member paused) fires signal and lease:lost within the TTL, no throw or rejection', async () => {
    const lease = await a.acquire('paused', { ttl: 1000 });
    const waiter = b.acquire('paused', { ttl: 1000, wait: 30_000 }).then(
      (l) => l,
      (e: unknown) => e,
    );
    const lost: unknown[] = [];
    lease.on('lease:lost', (e) => lost.push(e.cause));
    const member = etcd.members[0]!;
    const pausedAt = performance.now();
    member.process.pause();
    try {
      await eventually(() => lease.signal.aborted, 3000, 'lease lost while etcd is paused');
      // Declared lost no later than its validity (1 s TTL) plus one timer tick of slack.
      expect(performance.now() - pausedAt).toBeLessThan(1500);
      expect(lease.held).toBe(false);
      expect(SwitchyardError.is(lease.signal.reason, 'LOCK_LOST')).toBe(true);
      expect(lost).toHaveLength(1);
    } finally {
      member.process.resume();
    }
    expect(await lease.release()).toBe(false);
    // The waiter neither hangs nor fails: its wait budget covers the outage, so it retries on a new
    // session once etcd answers again, and gets a larger token.
    const outcome = await settleWithin(waiter, 10_000);
    expect(outcome).not.toBe('timeout');
    expect(isSwitchyardError(outcome), String(outcome)).toBe(false);
    const next = outcome as Awaited<ReturnType<EtcdLock['acquire']>>;
    expect(next.token > lease.token).toBe(true);
    await next.release();
    // A bounded wait during an outage ends in a typed error, never a hang.
    member.process.pause();
    try {
      const bounded = await settleWithin(
        b.acquire('paused-2', { ttl: 1000, wait: 800 }).catch((e: unknown) => e),
        5000,
      );
      expect(isSwitchyardError(bounded, 'LOCK_TIMEOUT', 'BACKEND_UNAVAILABLE'), String(bounded)).toBe(true);
      const tryOnce = await settleWithin(
        b.tryAcquire('paused-3', { ttl: 1000 }).catch((e: unknown) => e),
        5000,
      );
      expect(isSwitchyardError(tryOnce, 'BACKEND_UNAVAILABLE'), String(tryOnce)).toBe(true);
    } finally {
      member.process.resume();
    }
    expect(unhandled).toEqual([]);
  });

  it('lease expiry: without renewal the server-side key goes and a lost lease never comes back', async () => {
    const lease = await a.acquire('expiry', { ttl: 800, autoRenew: false });
    await eventually(() => lease.signal.aborted, 2000, 'client-side expiry');
    await eventually(async () => (await b.inspect('expiry')) === undefined, 2000, 'key deleted');
    await expect(lease.extend()).rejects.toMatchObject({ code: 'LOCK_LOST' });
    expect(unhandled).toEqual([]);
  });

  it('a stale release after loss is a no-op that does not free the new holder', async () => {
    const first = await a.acquire('stale', { ttl: 1000 });
    await a.forceRelease('stale');
    const second = await b.acquire('stale', { ttl: 1000, wait: 5000 });
    expect(await first.release()).toBe(false);
    expect((await b.inspect('stale'))?.token).toBe(second.token);
    await second.release();
  });
});

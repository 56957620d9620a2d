import { randomUUID } from 'node:crypto';
import { runWithLockOwner, SwitchyardError, withLock } from '@switchyard/core';
import { delay, eventually, expectSwitchyardError } from '@switchyard/testkit/conformance';
import { type EtcdCluster, startEtcd } from '@switchyard/testkit/servers';
import { Etcd3 } from 'etcd3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEtcdLock, type EtcdLock } from '../src/index.js';

let etcd: EtcdCluster;
let raw: Etcd3;
let a: EtcdLock;
let b: EtcdLock;
const prefix = `mutex-${randomUUID().slice(0, 8)}`;
const key = () => `k-${randomUUID().slice(0, 8)}`;

beforeAll(async () => {
  etcd = await startEtcd({ members: 1 });
  raw = new Etcd3({ hosts: etcd.endpoints });
  a = createEtcdLock({ client: raw, prefix, ttl: 2000 });
  b = createEtcdLock({ hosts: etcd.endpoints, prefix, ttl: 2000 });
});
afterAll(async () => {
  await a?.close();
  await b?.close();
  raw?.close();
  await etcd?.stop();
});

async function queueKeys(k: string): Promise<string[]> {
  return raw
    .getAll()
    .prefix(`${prefix}/${encodeURIComponent(k)}/`)
    .keys();
}

describe('createEtcdLock: options and input', () => {
  it('rejects bad options and input with INVALID_ARGUMENT naming the field', async () => {
    await expectSwitchyardError(() => createEtcdLock({}), 'INVALID_ARGUMENT', 'hosts');
    await expectSwitchyardError(
      () => createEtcdLock({ client: raw, hosts: 'http://127.0.0.1:1' }),
      'INVALID_ARGUMENT',
      'hosts',
    );
    await expectSwitchyardError(() => createEtcdLock({ hosts: [] }), 'INVALID_ARGUMENT', 'hosts');
    await expectSwitchyardError(() => createEtcdLock({ client: {} as Etcd3 }), 'INVALID_ARGUMENT', 'client');
    await expectSwitchyardError(
      () => createEtcdLock({ client: raw, prefix: '/' }),
      'INVALID_ARGUMENT',
      'prefix',
    );
    await expectSwitchyardError(() => createEtcdLock({ client: raw, ttl: 0 }), 'INVALID_ARGUMENT', 'ttl');
    await expectSwitchyardError(
      () => createEtcdLock({ client: raw, requestTimeout: -1 }),
      'INVALID_ARGUMENT',
      'requestTimeout',
    );
    await expectSwitchyardError(() => a.acquire(''), 'INVALID_ARGUMENT', 'key');
    await expectSwitchyardError(() => a.acquire(key(), { ttl: 0 }), 'INVALID_ARGUMENT', 'ttl');
    await expectSwitchyardError(() => a.acquire(key(), { ttl: -1 }), 'INVALID_ARGUMENT', 'ttl');
    await expectSwitchyardError(
      () => a.acquire(key(), { ttl: 365 * 24 * 3600 * 1000 }),
      'INVALID_ARGUMENT',
      'ttl',
    );
    await expectSwitchyardError(() => a.acquire(key(), { wait: -1 }), 'INVALID_ARGUMENT', 'wait');
    await expectSwitchyardError(() => a.acquire(key(), { owner: '' }), 'INVALID_ARGUMENT', 'owner');
    await expectSwitchyardError(
      () => a.acquire(key(), { signal: 'x' as unknown as AbortSignal }),
      'INVALID_ARGUMENT',
      'signal',
    );
    await expectSwitchyardError(() => a.forceRelease(''), 'INVALID_ARGUMENT', 'key');
  });

  it('keeps keys with "/" apart and does not close a client it was given', async () => {
    const k = key();
    const outer = await a.acquire(k);
    const inner = await b.acquire(`${k}/sub`, { wait: 0 });
    expect(inner.token > outer.token).toBe(true);
    await Promise.all([outer.release(), inner.release()]);
    const tmp = createEtcdLock({ client: raw, prefix });
    await tmp.close();
    expect(await raw.get('anything').string()).toBeNull();
  });
});

describe('queue behaviour', () => {
  it('a timed-out waiter and an aborted waiter delete their queue keys', async () => {
    const k = key();
    const held = await a.acquire(k);
    await expectSwitchyardError(b.acquire(k, { wait: 200 }), 'LOCK_TIMEOUT');
    // The layer gives the queue place back once the attempt in flight has settled.
    await eventually(async () => (await queueKeys(k)).length === 1, 2000, 'timed-out waiter dequeued');
    const ac = new AbortController();
    const waiting = b.acquire(k, { signal: ac.signal });
    await eventually(async () => (await queueKeys(k)).length === 2, 2000, 'waiter queued');
    ac.abort();
    await expectSwitchyardError(waiting, 'ABORTED');
    await eventually(async () => (await queueKeys(k)).length === 1, 2000, 'aborted waiter dequeued');
    expect((await a.inspect(k))?.waiters).toBe(0);
    await held.release();
    expect(await queueKeys(k)).toHaveLength(0);
  });

  it('a waiter whose predecessor gives up keeps its place and gets the lock on release', async () => {
    const k = key();
    const held = await a.acquire(k);
    const ac = new AbortController();
    const second = b.acquire(k, { signal: ac.signal }).catch((e: unknown) => e);
    await delay(100);
    const third = a.acquire(k, { wait: 10_000 });
    await delay(100);
    ac.abort();
    expect(SwitchyardError.is(await second, 'ABORTED')).toBe(true);
    await delay(100);
    expect((await b.inspect(k))?.owner).toBe(held.owner);
    await held.release();
    const lease = await third;
    expect(lease.token > held.token).toBe(true);
    await lease.release();
  });

  it('tryAcquire leaves no key behind when the lock is held', async () => {
    const k = key();
    const held = await a.acquire(k);
    expect(await b.tryAcquire(k)).toBeUndefined();
    expect(await queueKeys(k)).toHaveLength(1);
    await held.release();
  });

  it('withLock passes a live signal and the token', async () => {
    const k = key();
    const token = await withLock(b, k, async (signal, lease) => {
      expect(signal.aborted).toBe(false);
      expect((await a.inspect(k))?.token).toBe(lease.token);
      return lease.token;
    });
    expect(typeof token).toBe('bigint');
    expect(await a.inspect(k)).toBeUndefined();
  });
});

describe('extend', () => {
  it('extend(ttl) with another whole-second TTL moves the key to that session and keeps the token', async () => {
    const k = key();
    const lease = await a.acquire(k, { ttl: 2000 });
    expect((await b.inspect(k))!.ttlLeft).toBeLessThanOrEqual(2000);
    await lease.extend(6000);
    const info = await b.inspect(k);
    expect(info?.token).toBe(lease.token);
    expect(info!.ttlLeft).toBeGreaterThan(2000);
    expect(info!.ttlLeft).toBeLessThanOrEqual(6000);
    expect(lease.validUntil - performance.now()).toBeGreaterThan(4000);
    await delay(300);
    expect(lease.held).toBe(true);
    await lease.extend(1000);
    expect((await b.inspect(k))!.ttlLeft).toBeLessThanOrEqual(1000);
    expect(await lease.release()).toBe(true);
    expect(await b.inspect(k)).toBeUndefined();
  });
});

describe('admin API', () => {
  it('lists held locks with owner, token, ttl and waiters; forceRelease hands over and the holder learns', async () => {
    const k = key();
    const held = await a.acquire(k, { owner: 'alice', ttl: 3000 });
    const lost: unknown[] = [];
    held.on('lease:lost', (e) => lost.push(e.cause));
    // bob's own TTL is long: with b's 2 s default a keep-alive delayed on a loaded box could expire
    // bob's session lease (and its key) before the assertions below look at it.
    const next = b.acquire(k, { owner: 'bob', wait: 10_000, ttl: 8000 });
    await eventually(async () => (await a.inspect(k))?.waiters === 1, 2000, 'one waiter');
    const listed = (await b.list()).find((l) => l.key === k);
    expect(listed).toMatchObject({ key: k, owner: 'alice', token: held.token, waiters: 1 });
    expect(listed!.ttlLeft).toBeGreaterThan(0);
    expect(listed!.ttlLeft).toBeLessThanOrEqual(3000);
    expect(await b.forceRelease(k)).toBe(true);
    const bob = await next;
    expect(bob.owner).toBe('bob');
    expect(bob.token > held.token).toBe(true);
    // The forced-out holder notices at its next renewal (ttl/3).
    await eventually(() => held.signal.aborted, 3000, 'holder learns it was force-released');
    expect(SwitchyardError.is(held.signal.reason, 'LOCK_LOST')).toBe(true);
    expect(lost).toHaveLength(1);
    expect(await held.release()).toBe(false);
    expect(bob.signal.reason, 'the new holder was not told it lost the lock').toBeUndefined();
    expect((await a.inspect(k))?.owner).toBe('bob');
    await bob.release();
    expect(await a.forceRelease(k)).toBe(false);
    const stats = a.stats();
    expect(stats.lost).toBeGreaterThanOrEqual(1);
    expect(stats.acquired).toBeGreaterThan(0);
    expect(stats.waitHistogram.reduce((n, bkt) => n + bkt.count, 0)).toBe(stats.acquired);
    expect(b.stats().contended).toBeGreaterThanOrEqual(1);
  });
});

describe('reentrancy', () => {
  it('is off by default and counts down when enabled', async () => {
    const k = key();
    const first = await a.acquire(k, { owner: 'same' });
    expect(await a.tryAcquire(k, { owner: 'same' })).toBeUndefined();
    await first.release();

    const re = createEtcdLock({ client: raw, prefix, reentrant: true });
    try {
      expect(re.capabilities.reentrant).toBe(true);
      const outer = await re.acquire(k, { owner: 'me' });
      const inner = await re.acquire(k, { owner: 'me', wait: 0 });
      expect(inner.token).toBe(outer.token);
      expect(await re.tryAcquire(k, { owner: 'other' })).toBeUndefined();
      expect(await inner.release()).toBe(true);
      expect(await inner.release()).toBe(true);
      expect((await a.inspect(k))?.owner).toBe('me');
      expect(await outer.release()).toBe(true);
      expect(await a.inspect(k)).toBeUndefined();
      // Owner scoped by async context.
      await runWithLockOwner('ctx', async () => {
        const l1 = await re.acquire(k);
        const l2 = await re.acquire(k, { wait: 0 });
        expect(l2.owner).toBe('ctx');
        await l2.release();
        await l1.release();
      });
      expect(await a.inspect(k)).toBeUndefined();
    } finally {
      await re.close();
    }
  });
});

import { randomUUID } from 'node:crypto';
import {
  type DistributedLock,
  isSwitchyardError,
  type LockAdmin,
  type SwitchyardError,
  subscribeDiagnostic,
} from '@switchyard/core';
import { delay, eventually, expectSwitchyardError, settleWithin } from '@switchyard/testkit/conformance';
import { type EtcdCluster, freePort, startEtcd } from '@switchyard/testkit/servers';
import { Etcd3 } from 'etcd3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEtcdElection, createEtcdLock, createEtcdSemaphore, fencedPut } from '../src/index.js';

// Regressions of issues #19 and #9 (lock-etcd items), on a real etcd.
let etcd: EtcdCluster;
let raw: Etcd3;
const prefix = `/hardening-${randomUUID().slice(0, 8)}`;
const key = () => `k-${randomUUID().slice(0, 8)}`;

beforeAll(async () => {
  etcd = await startEtcd({ members: 1 });
  raw = new Etcd3({ hosts: etcd.endpoints });
});
afterAll(async () => {
  etcd?.members[0]?.process.resume();
  raw?.close();
  await etcd?.stop();
});

describe('strict options (#9)', () => {
  it('rejects unknown keys with the nearest valid name, and bad types, at construction', async () => {
    const hosts = etcd.endpoints;
    const bad: [() => unknown, string][] = [
      [() => createEtcdLock({ hosts, tll: 1000 } as never), 'tll'],
      [() => createEtcdLock({ host: hosts } as never), 'host'],
      [() => createEtcdLock({ hosts, operationTimeout: 5 } as never), 'operationTimeout'],
      [() => createEtcdLock({ hosts: 'not a url' }), 'hosts[0]'],
      [() => createEtcdLock({ hosts: [hosts[0]!, 'a b:1'] }), 'hosts[1]'],
      [() => createEtcdLock({ hosts: 42 as never }), 'hosts'],
      [() => createEtcdLock({ client: raw, hosts }), 'hosts'],
      [() => createEtcdLock({ client: raw, clientOptions: {} }), 'clientOptions'],
      [() => createEtcdLock({ client: {} as Etcd3 }), 'client'],
      [() => createEtcdLock({ hosts, reentrant: 'yes' as never }), 'reentrant'],
      [() => createEtcdLock({ hosts, clock: {} as never }), 'clock'],
      [() => createEtcdLock({ hosts, onListenerError: 'x' as never }), 'onListenerError'],
      [() => createEtcdLock({ hosts, unavailableAfter: -1 }), 'unavailableAfter'],
      [() => createEtcdLock({ hosts, prefix: 'a\u0000b' }), 'prefix'],
      [() => createEtcdSemaphore({ hosts } as never), 'permits'],
      [() => createEtcdSemaphore({ hosts, permits: 0 }), 'permits'],
      [() => createEtcdSemaphore({ hosts, permits: 2, fair: true } as never), 'fair'],
      [() => createEtcdElection({ hosts, reentrant: true } as never), 'reentrant'],
    ];
    for (const [make, field] of bad) await expectSwitchyardError(make, 'INVALID_ARGUMENT', field);
    await expect(Promise.resolve().then(() => createEtcdLock({ hosts, tll: 1 } as never))).rejects.toThrow(
      /ttl/,
    );
  });

  it('list({ limit }) validates the limit and honours it', async () => {
    const lock = createEtcdLock({ client: raw, prefix: `${prefix}/list` });
    try {
      for (const limit of [0, -1, Number.NaN, '4', 1.5]) {
        await expectSwitchyardError(() => lock.list({ limit: limit as number }), 'INVALID_ARGUMENT', 'limit');
      }
      const leases = await Promise.all(['a', 'b', 'c'].map((k) => lock.acquire(k)));
      expect((await lock.list({ limit: 2 })).map((i) => i.key)).toEqual(['a', 'b']);
      expect(await lock.list()).toHaveLength(3);
      await Promise.all(leases.map((l) => l.release()));
    } finally {
      await lock.close();
    }
  });

  it('fencedPut validates its options before any call (a bad signal is INVALID_ARGUMENT, not BACKEND_UNAVAILABLE)', async () => {
    const base = { key: `${prefix}-res`, value: 'v', token: 1n };
    await expectSwitchyardError(
      () => fencedPut(raw, { ...base, signal: {} as never }),
      'INVALID_ARGUMENT',
      'signal',
    );
    await expectSwitchyardError(
      () => fencedPut(raw, { ...base, tokn: 1n } as never),
      'INVALID_ARGUMENT',
      'tokn',
    );
    await expectSwitchyardError(() => fencedPut({} as never, base), 'INVALID_ARGUMENT', 'client');
    await expectSwitchyardError(
      () => fencedPut(raw, { key: 'x', value: 'v' } as never),
      'INVALID_ARGUMENT',
      'token',
    );
  });

  it('every kind has the same shape and type-checks as a DistributedLock', async () => {
    const kinds: (DistributedLock & LockAdmin)[] = [
      createEtcdLock({ client: raw, prefix }),
      createEtcdSemaphore({ client: raw, prefix: `${prefix}-sem`, permits: 2 }),
      createEtcdElection({ client: raw, prefix: `${prefix}-el` }).lock,
    ];
    for (const k of kinds) {
      expect(typeof k.name).toBe('string');
      expect(k.capabilities.ttlGranularity).toBe('milliseconds');
      for (const m of [
        'acquire',
        'tryAcquire',
        'inspect',
        'list',
        'forceRelease',
        'stats',
        'close',
      ] as const) {
        expect(typeof k[m]).toBe('function');
      }
      expect(k.stats()).toMatchObject({ held: 0, waiting: 0 });
      await k.close();
    }
  });
});

describe('election input (#9)', () => {
  it('validates options of campaign, proclaim, leader and observe before any call', async () => {
    const election = createEtcdElection({ client: raw, prefix: `${prefix}-el-input` });
    try {
      const bad = { signal: {} as AbortSignal };
      await expectSwitchyardError(
        () => election.campaign('e', 'v', { autoRenew: false } as never),
        'INVALID_ARGUMENT',
        'autoRenew',
      );
      await expectSwitchyardError(() => election.campaign('e', 'v', bad), 'INVALID_ARGUMENT', 'signal');
      await expectSwitchyardError(() => election.campaign('', 'v'), 'INVALID_ARGUMENT', 'election');
      await expectSwitchyardError(() => election.leader('e', bad), 'INVALID_ARGUMENT', 'signal');
      await expectSwitchyardError(() => election.observe('e', bad), 'INVALID_ARGUMENT', 'signal');
      const leadership = await election.campaign('e', 'v');
      await expectSwitchyardError(() => leadership.proclaim('w', bad), 'INVALID_ARGUMENT', 'signal');
      await expectSwitchyardError(() => leadership.proclaim(5 as never), 'INVALID_ARGUMENT', 'value');
      await leadership.proclaim('w');
      expect((await election.leader('e'))?.value).toBe('w');
      await leadership.resign();
      expect(await election.leader('e')).toBeUndefined();
    } finally {
      await election.close();
    }
  });
});

describe('sub-second ttl (#9): the lease is valid for the ttl asked for, not rounded', () => {
  it('ttl 500 without renewal expires after ~500 ms and the next client gets the lock then, not after a whole second', async () => {
    const a = createEtcdLock({ client: raw, prefix: `${prefix}/ttl` });
    const b = createEtcdLock({ client: raw, prefix: `${prefix}/ttl` });
    try {
      const k = key();
      const started = performance.now();
      const lease = await a.acquire(k, { ttl: 500, autoRenew: false });
      expect(lease.validUntil - performance.now()).toBeLessThanOrEqual(500);
      const next = await b.acquire(k, { wait: 5000 });
      const took = performance.now() - started;
      expect(lease.signal.aborted).toBe(true);
      expect(took).toBeGreaterThan(450);
      expect(took).toBeLessThan(900);
      await next.release();
      // With renewal a 500 ms lease outlives several TTLs.
      const renewed = await a.acquire(k, { ttl: 500 });
      // Valid for the 500 ms asked for, not the whole second of the etcd lease (was rounded up).
      expect(renewed.validUntil - performance.now()).toBeLessThanOrEqual(500);
      const first = renewed.validUntil;
      const validities: number[] = [];
      for (let i = 0; i < 16; i++) {
        await delay(100);
        validities.push(renewed.validUntil - performance.now());
      }
      expect(renewed.validUntil - first).toBeGreaterThan(1000); // renewed, 500 ms at a time
      expect(Math.max(...validities)).toBeLessThanOrEqual(500);
      expect(renewed.held).toBe(true);
      expect(await b.tryAcquire(k)).toBeUndefined();
      expect(await renewed.release()).toBe(true);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });
});

describe('one acquire is one lease:acquired (#8): etcd session leases are not lock leases', () => {
  it('publishes exactly one lease:acquired and one lease:released per hold', async () => {
    const lock = createEtcdLock({ client: raw, prefix: `${prefix}/diag` });
    const seen: string[] = [];
    const offA = subscribeDiagnostic('switchyard:lease:acquired', (p) => seen.push(`acquired ${p.key}`));
    const offR = subscribeDiagnostic('switchyard:lease:released', (p) => seen.push(`released ${p.key}`));
    try {
      const k = key();
      const lease = await lock.acquire(k, { ttl: 2000 });
      await lease.release();
      expect(seen.filter((s) => s.endsWith(k) || s.includes('session'))).toEqual([
        `acquired ${k}`,
        `released ${k}`,
      ]);
    } finally {
      offA();
      offR();
      await lock.close();
    }
    expect(seen.some((s) => s.includes('session'))).toBe(false);
  });
});

describe('outages (#9, #19): typed, bounded, never a hang', () => {
  it('an unreachable etcd rejects acquire with BACKEND_UNAVAILABLE after unavailableAfter (default wait Infinity)', async () => {
    const port = await freePort();
    const lock = createEtcdLock({
      hosts: `http://127.0.0.1:${port}`,
      unavailableAfter: 1500,
      requestTimeout: 500,
    });
    try {
      const started = performance.now();
      const outcome = await settleWithin(
        lock.acquire(key()).catch((e: unknown) => e),
        6000,
      );
      const took = performance.now() - started;
      expect(isSwitchyardError(outcome, 'BACKEND_UNAVAILABLE'), String(outcome)).toBe(true);
      expect(took).toBeGreaterThan(1400);
      expect(took).toBeLessThan(3000);
      // A wait bound reached first: LOCK_TIMEOUT at the bound, the outage as cause (same rule as lock-redis).
      const t2 = performance.now();
      const bounded = await lock.acquire(key(), { wait: 800 }).catch((e: unknown) => e);
      expect(isSwitchyardError(bounded, 'LOCK_TIMEOUT'), String(bounded)).toBe(true);
      expect(isSwitchyardError((bounded as SwitchyardError).cause, 'BACKEND_UNAVAILABLE')).toBe(true);
      expect(performance.now() - t2).toBeLessThan(1500);
      // tryAcquire: one try, BACKEND_UNAVAILABLE.
      await expectSwitchyardError(lock.tryAcquire(key()), 'BACKEND_UNAVAILABLE');
    } finally {
      await settleWithin(lock.close(), 3000);
    }
  });

  it('a paused etcd: acquire rejects with BACKEND_UNAVAILABLE within the bound; extend() throws a typed error, never a plain Error', async () => {
    const lock = createEtcdLock({
      hosts: etcd.endpoints,
      prefix: `${prefix}/paused`,
      unavailableAfter: 1200,
      requestTimeout: 400,
    });
    const member = etcd.members[0]!;
    try {
      const held = await lock.acquire(key(), { ttl: 5000, autoRenew: false });
      member.process.pause();
      const started = performance.now();
      const outcome = await settleWithin(
        lock.acquire(key()).catch((e: unknown) => e),
        6000,
      );
      expect(isSwitchyardError(outcome, 'BACKEND_UNAVAILABLE'), String(outcome)).toBe(true);
      // The bound is unavailableAfter + one in-flight requestTimeout = 1.6 s; a loaded CI box once took
      // 2.64 s (timers and the session open run late). A hang would be the 6 s of settleWithin.
      expect(performance.now() - started).toBeLessThan(3500);
      const extended = await settleWithin(
        held.extend().catch((e: unknown) => e),
        3000,
      );
      expect(isSwitchyardError(extended, 'BACKEND_UNAVAILABLE', 'LOCK_LOST'), String(extended)).toBe(true);
      member.process.resume();
      await eventually(
        async () =>
          await lock
            .tryAcquire(key())
            .then((l) => l?.release())
            .then(
              () => true,
              () => false,
            ),
        5000,
        'etcd back',
      );
    } finally {
      member.process.resume();
      await lock.close();
    }
  });
});

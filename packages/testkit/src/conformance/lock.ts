import { randomUUID } from 'node:crypto';
import { type DistributedLock, SwitchyardError, withLock } from '@switchyard/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  activeSockets,
  delay,
  eventually,
  expectSwitchyardError,
  settleWithin,
  trackTimers,
} from './expect-error.js';

export interface LockConformanceTarget {
  /** Two clients on the same backend: they behave like two processes. */
  a: DistributedLock;
  b: DistributedLock;
  /** Closes clients and anything else created (servers are the caller's). */
  cleanup?: () => Promise<void>;
}

export interface LockConformanceOptions {
  name: string;
  create: () => Promise<LockConformanceTarget>;
  /** 'seconds' for lease-based stores (etcd): TTLs are rounded up to whole seconds. */
  ttlGranularity?: 'milliseconds' | 'seconds';
  /** TTL used by the expiry tests (default 300 ms, or 2000 ms for 'seconds'). */
  shortTtl?: number;
  /** Upper bound for a waiter to hold the lock after release (default 250 ms). */
  wakeBound?: number;
  /** Run the "no timers left after close" check (default true). */
  checkTimers?: boolean;
}

/** The lock contract of DESIGN.md, one test per point. Call inside a vitest file. */
export function runLockConformance(options: LockConformanceOptions): void {
  const seconds = options.ttlGranularity === 'seconds';
  const shortTtl = options.shortTtl ?? (seconds ? 2000 : 300);
  const wakeBound = options.wakeBound ?? 250;
  const slack = seconds ? 1500 : 250;

  describe(`lock conformance: ${options.name}`, () => {
    let t: LockConformanceTarget;
    let a: DistributedLock;
    let b: DistributedLock;
    const key = () => `conformance-${randomUUID()}`;

    beforeEach(async () => {
      t = await options.create();
      a = t.a;
      b = t.b;
    });
    afterEach(async () => {
      await t.cleanup?.();
    });

    it('acquire returns a held lease with a bigint fencing token and a live signal', async () => {
      const k = key();
      const lease = await a.acquire(k, { ttl: 5000 });
      expect(lease.key).toBe(k);
      expect(typeof lease.token).toBe('bigint');
      expect(typeof lease.owner).toBe('string');
      expect(lease.held).toBe(true);
      expect(lease.signal.aborted).toBe(false);
      const info = await b.inspect(k);
      expect(info?.owner).toBe(lease.owner);
      expect(info?.token).toBe(lease.token);
      expect(await lease.release()).toBe(true);
      expect(lease.signal.aborted).toBe(false);
      expect(await b.inspect(k)).toBeUndefined();
    });

    it('fencing tokens strictly increase per key across clients', async () => {
      const k = key();
      let last = -1n;
      for (let i = 0; i < 6; i++) {
        const lease = await (i % 2 === 0 ? a : b).acquire(k, { ttl: 5000 });
        expect(lease.token > last).toBe(true);
        last = lease.token;
        await lease.release();
      }
    });

    it('a held lock is exclusive: wait 0 rejects with LOCK_TIMEOUT and tryAcquire returns undefined', async () => {
      const k = key();
      const lease = await a.acquire(k, { ttl: 5000 });
      await expectSwitchyardError(b.acquire(k, { ttl: 5000, wait: 0 }), 'LOCK_TIMEOUT');
      expect(await b.tryAcquire(k, { ttl: 5000 })).toBeUndefined();
      await lease.release();
      const second = await b.tryAcquire(k, { ttl: 5000 });
      expect(second).toBeDefined();
      await second?.release();
    });

    it('a waiter is woken within a bound after release (notification, not a slow poll)', async () => {
      // Three rounds, judged by the median, so one sample delayed by a loaded machine does not fail
      // the suite while a waiter that only polls still does. Backends should configure a long
      // fallback poll in their conformance factory so that polling alone cannot pass.
      const k = key();
      const wakes: number[] = [];
      for (let round = 0; round < 3; round++) {
        const lease = await a.acquire(k, { ttl: 10_000 });
        let acquiredAt = 0;
        const waiting = b.acquire(k, { ttl: 10_000, wait: 10_000 }).then((l) => {
          acquiredAt = performance.now();
          return l;
        });
        await delay(150);
        const releasedAt = performance.now();
        await lease.release();
        const next = await waiting;
        wakes.push(acquiredAt - releasedAt);
        expect(next.token > lease.token).toBe(true);
        await next.release();
      }
      const median = [...wakes].sort((x, y) => x - y)[1]!;
      expect(median, `wake-up times ${wakes.map((w) => w.toFixed(1)).join(', ')} ms`).toBeLessThan(wakeBound);
    });

    it('a bounded wait rejects with LOCK_TIMEOUT after about `wait`', async () => {
      const k = key();
      const lease = await a.acquire(k, { ttl: 10_000 });
      const started = performance.now();
      await expectSwitchyardError(b.acquire(k, { ttl: 5000, wait: 300 }), 'LOCK_TIMEOUT');
      const elapsed = performance.now() - started;
      expect(elapsed).toBeGreaterThanOrEqual(250);
      expect(elapsed).toBeLessThan(300 + slack + 1000);
      await lease.release();
      // The timed-out waiter left nothing behind: the lock is free.
      const again = await b.acquire(k, { ttl: 5000, wait: 2000 });
      await again.release();
    });

    it('an AbortSignal cancels a wait with ABORTED and leaves the lock acquirable', async () => {
      const k = key();
      const lease = await a.acquire(k, { ttl: 10_000 });
      const ac = new AbortController();
      const waiting = b.acquire(k, { ttl: 5000, wait: 10_000, signal: ac.signal });
      await delay(100);
      ac.abort();
      await expectSwitchyardError(waiting, 'ABORTED');
      await lease.release();
      const next = await a.acquire(k, { ttl: 5000, wait: 3000 });
      await next.release();
      const pre = new AbortController();
      pre.abort();
      await expectSwitchyardError(a.acquire(k, { signal: pre.signal }), 'ABORTED');
    });

    it('without renewal the lease expires: its signal fires with LOCK_LOST and another client gets a larger token', async () => {
      const k = key();
      const lease = await a.acquire(k, { ttl: shortTtl, autoRenew: false });
      const lost: unknown[] = [];
      lease.on('lease:lost', (e) => lost.push(e.cause));
      const next = await b.acquire(k, { ttl: 10_000, wait: shortTtl * 3 + slack * 2 });
      expect(next.token > lease.token).toBe(true);
      await eventually(() => lease.signal.aborted, slack * 2, 'lost signal fired');
      expect(SwitchyardError.is(lease.signal.reason, 'LOCK_LOST')).toBe(true);
      expect(lost).toHaveLength(1);
      expect(lease.held).toBe(false);
      // Release by a non-owner is a no-op that reports so, and does not free the new holder's lock.
      expect(await lease.release()).toBe(false);
      expect((await a.inspect(k))?.owner).toBe(next.owner);
      await expectSwitchyardError(lease.extend(), 'LOCK_LOST');
      expect(await next.release()).toBe(true);
    });

    it('automatic renewal keeps the lock past its TTL', async () => {
      const k = key();
      const lease = await a.acquire(k, { ttl: shortTtl });
      await delay(shortTtl * 2.5);
      expect(lease.signal.aborted).toBe(false);
      expect(lease.held).toBe(true);
      expect(await b.tryAcquire(k, { ttl: 5000 })).toBeUndefined();
      expect(await lease.release()).toBe(true);
    });

    it('extend() resets the TTL of a lease without renewal', async () => {
      const k = key();
      const lease = await a.acquire(k, { ttl: shortTtl, autoRenew: false });
      const before = lease.validUntil;
      await delay(shortTtl / 2);
      await lease.extend(shortTtl * 4);
      expect(lease.validUntil).toBeGreaterThan(before);
      await delay(shortTtl);
      expect(lease.signal.aborted).toBe(false);
      expect(await b.tryAcquire(k, { ttl: 5000 })).toBeUndefined();
      await lease.release();
    });

    it('release is idempotent and `await using` releases', async () => {
      const k = key();
      {
        await using lease = await a.acquire(k, { ttl: 5000 });
        expect(lease.held).toBe(true);
      }
      const next = await b.acquire(k, { ttl: 5000, wait: 0 });
      expect(await next.release()).toBe(true);
      expect(await next.release()).toBe(true);
    });

    it('withLock runs the function under the lock and always releases', async () => {
      const k = key();
      const result = await withLock(a, k, async (signal, lease) => {
        expect(signal.aborted).toBe(false);
        expect(await b.tryAcquire(k, { ttl: 1000 })).toBeUndefined();
        return lease.token;
      });
      expect(typeof result).toBe('bigint');
      await expect(
        withLock(a, k, async () => {
          throw new Error('boom');
        }),
      ).rejects.toThrow('boom');
      const free = await b.acquire(k, { wait: 0 });
      await free.release();
    });

    it('mutual exclusion under concurrency: no overlap, tokens increase in entry order', async () => {
      const k = key();
      let inside = 0;
      let maxInside = 0;
      const tokens: bigint[] = [];
      const worker = async (lock: DistributedLock) => {
        for (let i = 0; i < 4; i++) {
          await withLock(
            lock,
            k,
            async () => {
              inside++;
              maxInside = Math.max(maxInside, inside);
              await delay(Math.random() * 5);
              inside--;
            },
            { ttl: 5000, wait: 30_000 },
          );
        }
      };
      const entry = async (lock: DistributedLock) => {
        for (let i = 0; i < 4; i++) {
          const lease = await lock.acquire(k, { ttl: 5000, wait: 30_000 });
          tokens.push(lease.token);
          inside++;
          maxInside = Math.max(maxInside, inside);
          await delay(Math.random() * 5);
          inside--;
          await lease.release();
        }
      };
      await Promise.all([worker(a), worker(b), entry(a), entry(b), entry(a), entry(b)]);
      expect(maxInside).toBe(1);
      for (let i = 1; i < tokens.length; i++) expect(tokens[i]! > tokens[i - 1]!).toBe(true);
    });

    it('waiters are served in FIFO order when the backend is fair', async () => {
      if (!a.capabilities.fair) {
        expect(a.capabilities.fair).toBe(false);
        return;
      }
      const k = key();
      const lease = await a.acquire(k, { ttl: 10_000 });
      const order: number[] = [];
      const waiters: Promise<void>[] = [];
      for (let i = 0; i < 4; i++) {
        const lock = i % 2 === 0 ? b : a;
        waiters.push(
          lock.acquire(k, { ttl: 10_000, wait: 20_000 }).then(async (l) => {
            order.push(i);
            await l.release();
          }),
        );
        await delay(seconds ? 150 : 60);
      }
      await lease.release();
      await Promise.all(waiters);
      expect(order).toEqual([0, 1, 2, 3]);
    });

    it('rejects bad input with INVALID_ARGUMENT naming the field', async () => {
      await expectSwitchyardError(() => a.acquire(''), 'INVALID_ARGUMENT', 'key');
      await expectSwitchyardError(() => a.acquire(undefined as unknown as string), 'INVALID_ARGUMENT', 'key');
      await expectSwitchyardError(() => a.acquire(key(), { ttl: 0 }), 'INVALID_ARGUMENT', 'ttl');
      await expectSwitchyardError(() => a.acquire(key(), { ttl: -5 }), 'INVALID_ARGUMENT', 'ttl');
      await expectSwitchyardError(() => a.acquire(key(), { ttl: Number.NaN }), 'INVALID_ARGUMENT', 'ttl');
      await expectSwitchyardError(() => a.acquire(key(), { ttl: 1e13 }), 'INVALID_ARGUMENT', 'ttl');
      await expectSwitchyardError(() => a.acquire(key(), { wait: -1 }), 'INVALID_ARGUMENT', 'wait');
      await expectSwitchyardError(() => a.inspect(''), 'INVALID_ARGUMENT', 'key');
      const lease = await a.acquire(key(), { ttl: 5000 });
      await expectSwitchyardError(() => lease.extend(-1), 'INVALID_ARGUMENT', 'ttl');
      await lease.release();
    });

    it('close() settles waiters, releases held locks and leaves no timers or sockets behind', async () => {
      if (options.checkTimers === false) return;
      await t.cleanup?.();
      t = { a, b };
      await delay(50);
      const sockets = activeSockets();
      const timers = trackTimers();
      try {
        const fresh = await options.create();
        t = fresh;
        const k = key();
        const lease = await fresh.a.acquire(k, { ttl: 5000 });
        expect(lease.held).toBe(true);
        const waiting = fresh.b.acquire(k, { ttl: 5000, wait: 60_000 }).then(
          (l) => l.release().then(() => 'acquired'),
          (e: unknown) => e,
        );
        await delay(50);
        await fresh.cleanup?.();
        t = { a: fresh.a, b: fresh.b };
        const outcome = await settleWithin(waiting, 5000);
        expect(outcome, 'a waiter must settle when its client closes').not.toBe('timeout');
        await eventually(
          () => timers.live() === 0,
          3000,
          () => `no live timers; created at:\n${timers.describeLive()}`,
        );
        await eventually(
          () => activeSockets() <= sockets,
          3000,
          () => `open sockets back to ${sockets} (now ${activeSockets()})`,
        );
      } finally {
        timers.restore();
      }
    });
  });
}

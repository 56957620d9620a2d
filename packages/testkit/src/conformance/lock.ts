import { randomUUID } from 'node:crypto';
import {
  type DistributedLock,
  type LockAdmin,
  type LockLease,
  runWithLockOwner,
  SwitchyardError,
  withLock,
} from '@switchyard/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  activeSockets,
  delay,
  eventually,
  expectSwitchyardError,
  settleWithin,
  trackTimers,
} from './expect-error.js';

/** Every lock kind has the same shape: the contract plus the operator API. */
export type ConformanceLock = DistributedLock & LockAdmin;

export interface LockConformanceTarget {
  /** Two clients on the same backend: they behave like two processes. */
  a: ConformanceLock;
  b: ConformanceLock;
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
  /**
   * Holders admitted at once per key (a semaphore's permits; default 1). With more than one, the
   * exclusivity tests become "at most `permits` holders" and the semaphore group runs.
   */
  permits?: number;
  /**
   * Upper bound for a holder in another client to see its lease lost after a forced release
   * (default 3 × shortTtl: backends without a loss notice find out at their next renewal).
   */
  forcedLossBound?: number;
}

/** The lock contract of DESIGN.md, one test per point. Call inside a vitest file. */
export function runLockConformance(options: LockConformanceOptions): void {
  const seconds = options.ttlGranularity === 'seconds';
  const shortTtl = options.shortTtl ?? (seconds ? 2000 : 300);
  const wakeBound = options.wakeBound ?? 250;
  const slack = seconds ? 1500 : 250;
  const permits = options.permits ?? 1;
  const forcedLossBound = options.forcedLossBound ?? shortTtl * 3 + slack;

  describe(`lock conformance: ${options.name}`, () => {
    let t: LockConformanceTarget;
    let a: ConformanceLock;
    let b: ConformanceLock;
    const key = () => `conformance-${randomUUID()}`;
    /** Takes all but one permit of `k` (nothing for a mutex), so every test sees an exclusive lock. */
    const fill = async (k: string): Promise<{ release(): Promise<void> }> => {
      const held: LockLease[] = [];
      for (let i = 1; i < permits; i++) held.push(await a.acquire(k, { ttl: 60_000, wait: 0 }));
      return { release: async () => void (await Promise.all(held.map((l) => l.release()))) };
    };

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
      const extra: LockLease[] = [];
      for (let i = 1; i < permits; i++) extra.push(await a.acquire(k, { ttl: 5000, wait: 0 }));
      const lease = await a.acquire(k, { ttl: 5000 });
      await expectSwitchyardError(b.acquire(k, { ttl: 5000, wait: 0 }), 'LOCK_TIMEOUT');
      expect(await b.tryAcquire(k, { ttl: 5000 })).toBeUndefined();
      await lease.release();
      const second = await b.tryAcquire(k, { ttl: 5000 });
      expect(second).toBeDefined();
      await second?.release();
      for (const l of extra) await l.release();
    });

    it('a waiter is woken within a bound after release (notification, not a slow poll)', async () => {
      // Three rounds, judged by the median, so one sample delayed by a loaded machine does not fail
      // the suite while a waiter that only polls still does. Backends should configure a long
      // fallback poll in their conformance factory so that polling alone cannot pass.
      const k = key();
      const others = await fill(k);
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
      await others.release();
    });

    it('a bounded wait rejects with LOCK_TIMEOUT after about `wait`', async () => {
      const k = key();
      const others = await fill(k);
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
      await others.release();
    });

    it('an AbortSignal cancels a wait with ABORTED and leaves the lock acquirable', async () => {
      const k = key();
      const others = await fill(k);
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
      await others.release();
    });

    it('without renewal the lease expires: its signal fires with LOCK_LOST and another client gets a larger token', async () => {
      const k = key();
      const others = await fill(k);
      const lease = await a.acquire(k, { ttl: shortTtl, autoRenew: false });
      const lost: unknown[] = [];
      lease.on('lease:lost', (e) => lost.push(e.cause));
      // The wait is generous (this test is about expiry, not latency): on a loaded CI box a Redlock
      // acquire over three nodes has timed out past the 1.4 s the TTL arithmetic allows.
      const next = await b.acquire(k, { ttl: 10_000, wait: Math.max(shortTtl * 3 + slack * 2, 5000) });
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
      await others.release();
    });

    it('automatic renewal keeps the lock past its TTL', async () => {
      const k = key();
      const others = await fill(k);
      const lease = await a.acquire(k, { ttl: shortTtl });
      await delay(shortTtl * 2.5);
      expect(lease.signal.aborted).toBe(false);
      expect(lease.held).toBe(true);
      expect(await b.tryAcquire(k, { ttl: 5000 })).toBeUndefined();
      expect(await lease.release()).toBe(true);
      await others.release();
    });

    it('extend() resets the TTL of a lease without renewal', async () => {
      const k = key();
      const others = await fill(k);
      const lease = await a.acquire(k, { ttl: shortTtl, autoRenew: false });
      const before = lease.validUntil;
      await delay(shortTtl / 2);
      await lease.extend(shortTtl * 4);
      expect(lease.validUntil).toBeGreaterThan(before);
      await delay(shortTtl);
      expect(lease.signal.aborted).toBe(false);
      expect(await b.tryAcquire(k, { ttl: 5000 })).toBeUndefined();
      await lease.release();
      await others.release();
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
      const others = await fill(k);
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
      await others.release();
    });

    it('mutual exclusion under concurrency: no overlap, tokens increase in entry order', async () => {
      const k = key();
      const others = await fill(k);
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
      expect(maxInside).toBeLessThanOrEqual(permits);
      if (permits === 1)
        for (let i = 1; i < tokens.length; i++) expect(tokens[i]! > tokens[i - 1]!).toBe(true);
      await others.release();
    });

    it('waiters are served in FIFO order when the backend is fair', async (ctx) => {
      if (!a.capabilities.fair) ctx.skip('the backend declares fair: false');
      if (permits > 1) ctx.skip('the semaphore group checks order with several permits');
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

    it('an explicit owner is a label, not an identity: releasing an expired lease never frees a lock another lease of that owner holds', async () => {
      const k = key();
      const others = await fill(k);
      const first = await a.acquire(k, { ttl: shortTtl, autoRenew: false, owner: 'shared-owner' });
      await eventually(() => first.signal.aborted, shortTtl * 3 + slack * 2, 'first lease expired');
      const second = await b.acquire(k, { ttl: 10_000, owner: 'shared-owner', wait: slack * 4 });
      expect(second.token > first.token).toBe(true);
      expect(await first.release()).toBe(false);
      const info = await b.inspect(k);
      expect(info?.token).toBe(second.token);
      expect(await a.tryAcquire(k, { ttl: 5000 })).toBeUndefined();
      expect(second.held).toBe(true);
      expect(await second.release()).toBe(true);
      await others.release();
    });

    it('acquires aborted at random moments (the first attempt in flight) never leave the lock stuck', async () => {
      const k = key();
      const others = await fill(k);
      const holder = await a.acquire(k, { ttl: 10_000 });
      const attempts: Promise<unknown>[] = [];
      for (let i = 0; i < 20; i++) {
        const ac = new AbortController();
        attempts.push(
          b.acquire(k, { ttl: 10_000, wait: 10_000, signal: ac.signal }).then(
            (l) => l.release(),
            () => undefined,
          ),
        );
        setTimeout(() => ac.abort(), (i % 7) * 1);
        if (i % 5 === 4) await delay(5);
      }
      await Promise.all(attempts);
      await holder.release();
      // Nothing the aborted acquires left behind may hold or block the key.
      const next = await a.acquire(k, { ttl: 5000, wait: seconds ? 8000 : 3000 });
      await next.release();
      const again = await b.acquire(k, { ttl: 5000, wait: seconds ? 8000 : 3000 });
      await again.release();
      await others.release();
    });

    it('rejects an unknown option key and a signal that is not an AbortSignal, before any backend call', async () => {
      const k = key();
      await expectSwitchyardError(() => a.acquire(k, { tll: 1000 } as never), 'INVALID_ARGUMENT', 'tll');
      await expectSwitchyardError(
        () => a.acquire(k, { signal: {} as AbortSignal }),
        'INVALID_ARGUMENT',
        'signal',
      );
      await expectSwitchyardError(
        () => a.tryAcquire(k, { signal: 'x' as unknown as AbortSignal }),
        'INVALID_ARGUMENT',
        'signal',
      );
      await expectSwitchyardError(
        () => a.acquire(k, { autoRenew: 'yes' as unknown as boolean }),
        'INVALID_ARGUMENT',
        'autoRenew',
      );
      await expectSwitchyardError(() => a.list({ limit: 0 }), 'INVALID_ARGUMENT', 'limit');
      await expectSwitchyardError(
        () => a.list({ limit: '4' as unknown as number }),
        'INVALID_ARGUMENT',
        'limit',
      );
      // None of them took the lock.
      const lease = await b.acquire(k, { ttl: 5000, wait: 0 });
      await lease.release();
    });

    it('admin: list shows held locks with owner and token; stats count holders and waiters', async () => {
      const k = key();
      const lease = await a.acquire(k, { ttl: 10_000 });
      const listed = await b.list();
      const entry = listed.find((i) => i.key === k);
      expect(entry?.owner).toBe(lease.owner);
      expect(entry?.token).toBe(lease.token);
      expect((await b.list({ limit: 1 })).length).toBeLessThanOrEqual(1);
      const holders: LockLease[] = [lease];
      for (let i = 1; i < permits; i++) holders.push(await a.acquire(k, { ttl: 10_000, wait: 0 }));
      const waiting = b.acquire(k, { ttl: 5000, wait: 10_000 });
      await eventually(() => b.stats().waiting === 1, 2000, 'stats().waiting counts the waiter');
      expect(a.stats().held).toBe(permits);
      for (const h of holders) await h.release();
      const next = await waiting;
      expect(b.stats().held).toBe(1);
      expect(b.stats().waiting).toBe(0);
      await next.release();
      expect(b.stats().held).toBe(0);
      expect(a.stats().acquired).toBeGreaterThanOrEqual(permits);
      expect(a.stats().released).toBeGreaterThanOrEqual(permits);
    });

    it("admin: forceRelease frees the lock and fires the holder's lost signal, fencing order untouched", async () => {
      const k = key();
      const lease = await a.acquire(k, { ttl: shortTtl });
      expect(await b.forceRelease(k)).toBe(true);
      expect(await b.forceRelease(`${k}-free`)).toBe(false);
      const next = await b.acquire(k, { ttl: 10_000, wait: 5000 });
      expect(next.token > lease.token).toBe(true);
      await eventually(() => lease.signal.aborted, forcedLossBound, "the holder's lost signal fired");
      expect(SwitchyardError.is(lease.signal.reason, 'LOCK_LOST')).toBe(true);
      expect(await lease.release()).toBe(false);
      expect((await a.inspect(k))?.token).toBe(next.token);
      expect(b.stats().forceReleased).toBe(1);
      await next.release();
    });

    it('admin: a forceRelease by the client whose waiter is next leaves that waiter holding the lock', async () => {
      const k = key();
      const filled = await fill(k);
      const holder = await a.acquire(k, { ttl: shortTtl });
      const waiting = b.acquire(k, { ttl: 10_000, wait: 10_000 });
      await eventually(() => b.stats().waiting === 1, 3000, 'b has one waiter');
      await delay(100); // queued at the backend too
      // The release lets b's waiter in while b's own forceRelease call is still in flight: the new
      // holder must not be told it was force-released.
      expect(await b.forceRelease(k)).toBe(true);
      const next = await waiting;
      await eventually(() => holder.signal.aborted, forcedLossBound, "the old holder's lost signal fired");
      await delay(200);
      expect(next.signal.aborted, String(next.signal.reason)).toBe(false);
      expect(next.held).toBe(true);
      await filled.release();
      await next.release();
    });

    it('reentrancy: the same owner re-enters without waiting; the last release frees the lock', async (ctx) => {
      if (!a.capabilities.reentrant) ctx.skip('the backend declares reentrant: false');
      const k = key();
      await runWithLockOwner('reentrant-owner', async () => {
        const outer = await a.acquire(k, { ttl: 10_000 });
        const inner = await a.acquire(k, { ttl: 10_000, wait: 0 });
        expect(inner.token).toBe(outer.token);
        expect(await b.tryAcquire(k, { ttl: 1000 })).toBeUndefined();
        await inner.release();
        expect(outer.held).toBe(true);
        expect(await b.tryAcquire(k, { ttl: 1000 })).toBeUndefined();
        await outer.release();
      });
      const other = await b.acquire(k, { ttl: 5000, wait: 2000 });
      await other.release();
    });

    it('semaphore: exactly `permits` holders at once, the next waits and is served first-come first-served', async (ctx) => {
      if (permits < 2) ctx.skip('single-permit lock (the exclusivity tests cover it)');
      const k = key();
      const held: LockLease[] = [];
      for (let i = 0; i < permits; i++) held.push(await (i % 2 ? b : a).acquire(k, { ttl: 10_000, wait: 0 }));
      expect(new Set(held.map((l) => l.token)).size).toBe(permits);
      expect(await b.tryAcquire(k, { ttl: 5000 })).toBeUndefined();
      const order: number[] = [];
      const waiters = [0, 1].map(async (i) => {
        await delay(i * (seconds ? 200 : 60));
        const l = await (i ? a : b).acquire(k, { ttl: 10_000, wait: 20_000 });
        order.push(i);
        return l;
      });
      await delay(seconds ? 600 : 200);
      await held.shift()!.release();
      await Promise.race(waiters);
      expect(order).toEqual([0]);
      await held.shift()!.release();
      const both = await Promise.all(waiters);
      expect(order).toEqual([0, 1]);
      for (const l of [...held, ...both]) await l.release();
    });

    it('close() settles waiters, releases held locks and leaves no timers or sockets behind', async (ctx) => {
      if (options.checkTimers === false) ctx.skip('checkTimers: false for this target');
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

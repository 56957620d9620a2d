import { describe, expect, it } from 'vitest';
import { createManualClock, type LeaseDriver, ManagedLease, SwitchyardError } from '../src/index.js';

function driver(overrides: Partial<LeaseDriver> = {}) {
  const calls = { extend: 0, release: 0 };
  const d: LeaseDriver = {
    extend: async (...args) => {
      calls.extend++;
      return overrides.extend ? overrides.extend(...args) : true;
    },
    release: async (...args) => {
      calls.release++;
      return overrides.release ? overrides.release(...args) : true;
    },
  };
  return { d, calls };
}

function lease(d: LeaseDriver, clock = createManualClock(), autoRenew = true, ttl = 3000) {
  return new ManagedLease({
    pkg: 'test',
    key: 'k',
    owner: 'o',
    token: 1n,
    ttl,
    acquiredAt: clock.monotonic(),
    autoRenew,
    driver: d,
    clock,
    drift: 0,
  });
}

describe('ManagedLease', () => {
  it('renews at a third of the TTL and stays held', async () => {
    const clock = createManualClock();
    const { d, calls } = driver();
    const l = lease(d, clock);
    await clock.advance(1000);
    expect(calls.extend).toBe(1);
    await clock.advance(5000);
    expect(calls.extend).toBe(6);
    expect(l.held).toBe(true);
    expect(await l.release()).toBe(true);
    expect(clock.pendingTimers()).toBe(0);
    expect(l.signal.aborted).toBe(false);
  });

  it('declares the lease lost when renewal is refused', async () => {
    const clock = createManualClock();
    const { d } = driver({ extend: async () => false });
    const l = lease(d, clock);
    const lost: unknown[] = [];
    l.on('lease:lost', (e) => lost.push(e));
    await clock.advance(1000);
    expect(l.signal.aborted).toBe(true);
    expect(SwitchyardError.is(l.signal.reason, 'LOCK_LOST')).toBe(true);
    expect(lost).toHaveLength(1);
    expect(clock.pendingTimers()).toBe(0);
    expect(await l.release()).toBe(false);
  });

  it('retries failed renewals and declares loss only when validity runs out (no throw from timers)', async () => {
    const clock = createManualClock();
    let failing = true;
    const { d, calls } = driver({
      extend: async () => {
        if (failing) throw new Error('connection refused');
        return true;
      },
    });
    const l = lease(d, clock);
    await clock.advance(1500);
    expect(calls.extend).toBeGreaterThan(1);
    expect(l.held).toBe(true);
    failing = false;
    await clock.advance(400);
    expect(l.held).toBe(true);
    failing = true;
    await clock.advance(4000);
    expect(l.signal.aborted).toBe(true);
    expect(clock.pendingTimers()).toBe(0);
  });

  it('declares loss instead of renewing when the event loop was blocked past validity', async () => {
    const clock = createManualClock();
    const { d, calls } = driver();
    const l = lease(d, clock);
    // Simulate a blocked loop: time jumps past validity before the renewal timer gets to run.
    await clock.advance(0);
    (clock as unknown as { monotonic: () => number }).monotonic = () => 10_000;
    await clock.advance(1000);
    expect(calls.extend).toBe(0);
    expect(l.signal.aborted).toBe(true);
  });

  it('a renewal call that hangs does not keep the lease alive past its validity', async () => {
    const clock = createManualClock();
    const { d } = driver({ extend: () => new Promise<boolean>(() => {}) });
    const l = lease(d, clock);
    await clock.advance(1000);
    expect(l.held).toBe(true);
    await clock.advance(1999);
    expect(l.signal.aborted).toBe(false);
    await clock.advance(1);
    expect(l.signal.aborted).toBe(true);
    expect(SwitchyardError.is(l.signal.reason, 'LOCK_LOST')).toBe(true);
  });

  it('without auto-renewal the lease expires locally at its validity', async () => {
    const clock = createManualClock();
    const { d, calls } = driver();
    const l = lease(d, clock, false);
    await clock.advance(2999);
    expect(l.held).toBe(true);
    await clock.advance(1);
    expect(l.held).toBe(false);
    expect(l.signal.aborted).toBe(true);
    expect(calls.extend).toBe(0);
  });

  it('release waits for an in-flight renewal and never reports a false loss', async () => {
    const clock = createManualClock();
    let finish!: (v: boolean) => void;
    const { d } = driver({ extend: () => new Promise<boolean>((r) => (finish = r)) });
    const l = lease(d, clock);
    await clock.advance(1000);
    const released = l.release();
    finish(false); // the renewal "fails" because release won the race server-side
    expect(await released).toBe(true);
    expect(l.signal.aborted).toBe(false);
  });

  it('release is idempotent, and extend after release rejects with LOCK_LOST', async () => {
    const { d, calls } = driver();
    const l = lease(d);
    const [r1, r2] = await Promise.all([l.release(), l.release()]);
    expect([r1, r2]).toEqual([true, true]);
    expect(calls.release).toBe(1);
    await expect(l.extend()).rejects.toMatchObject({ code: 'LOCK_LOST' });
  });
});

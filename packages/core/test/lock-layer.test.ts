import { describe, expect, it } from 'vitest';
import { defineLock, type LockAttempt, type LockDriver, type LockWaiter } from '../src/driver/index.js';
import { systemClock } from '../src/index.js';

/**
 * A driver whose first attempt finds the lock held and whose waiter is handed the lock on its
 * first wait: counts the attempts the layer makes before the hand-off.
 */
function handOffDriver(sinceAttempt: boolean) {
  const calls = { attempts: 0, waits: 0 };
  const driver: LockDriver = {
    name: 'fake',
    capabilities: { fair: true, reentrant: false, ttlGranularity: 'milliseconds', notifications: true },
    async attempt(): Promise<LockAttempt> {
      calls.attempts++;
      return { acquired: false, retryIn: 10_000 };
    },
    async waiter(): Promise<LockWaiter> {
      return {
        listening: true,
        sinceAttempt,
        async wait() {
          calls.waits++;
          return { acquired: true, token: 7n };
        },
        close() {},
      };
    },
    extend: async () => true,
    release: async () => true,
    abandon: async () => {},
    inspect: async () => undefined,
    list: async () => [],
    forceRelease: async () => false,
  };
  const lock = defineLock(driver, {
    pkg: 'test',
    clock: systemClock,
    ttl: 10_000,
    wait: 5_000,
    requestTimeout: 1_000,
    pollInterval: 500,
    unavailableAfter: 5_000,
    reentrant: false,
  });
  return { lock, calls };
}

describe('lock layer: the wait after the first failed attempt', () => {
  it('re-tries once after opening a waiter that may have missed a notice', async () => {
    const { lock, calls } = handOffDriver(false);
    const lease = await lock.acquire('k');
    expect(lease.token).toBe(7n);
    expect(calls.attempts).toBe(2);
    await lease.release();
    await lock.close();
  });

  it('goes straight to waiting when the waiter has listened since before the attempt (sinceAttempt)', async () => {
    const { lock, calls } = handOffDriver(true);
    const lease = await lock.acquire('k');
    expect(lease.token).toBe(7n);
    expect(calls.attempts).toBe(1);
    expect(calls.waits).toBe(1);
    await lease.release();
    await lock.close();
  });
});

describe('lock layer: the uncontended path', () => {
  it('is one attempt and one release: no waiter, no abandon, no retry', async () => {
    const calls = { attempt: 0, waiter: 0, release: 0, abandon: 0, track: 0 };
    const driver: LockDriver = {
      name: 'fake',
      capabilities: { fair: false, reentrant: false, ttlGranularity: 'milliseconds', notifications: true },
      attempt: async () => {
        calls.attempt++;
        return { acquired: true, token: 1n };
      },
      waiter: async () => {
        calls.waiter++;
        throw new Error('not expected');
      },
      extend: async () => true,
      release: async () => {
        calls.release++;
        return true;
      },
      abandon: async () => void calls.abandon++,
      inspect: async () => undefined,
      list: async () => [],
      forceRelease: async () => false,
      track: () => {
        calls.track++;
        return () => {};
      },
    };
    const lock = defineLock(driver, {
      pkg: 'test',
      clock: systemClock,
      ttl: 10_000,
      wait: Number.POSITIVE_INFINITY,
      requestTimeout: 1_000,
      pollInterval: 500,
      unavailableAfter: 5_000,
      reentrant: false,
    });
    for (let i = 0; i < 3; i++) {
      const lease = await lock.acquire('k');
      expect(lock.stats().held).toBe(1);
      expect(await lease.release()).toBe(true);
    }
    expect(calls).toEqual({ attempt: 3, waiter: 0, release: 3, abandon: 0, track: 3 });
    expect(lock.stats()).toMatchObject({ acquired: 3, released: 3, held: 0, waiting: 0, contended: 0 });
    await lock.close();
  });
});

describe('lock layer: release after an ambiguous failure', () => {
  it('retries once with retry = true, so a driver with a release latch answers like the first call', async () => {
    const seen: boolean[] = [];
    const driver: LockDriver = {
      name: 'fake',
      capabilities: { fair: false, reentrant: false, ttlGranularity: 'milliseconds', notifications: true },
      attempt: async () => ({ acquired: true, token: 1n }),
      waiter: async () => {
        throw new Error('unused');
      },
      extend: async () => true,
      async release(_req, _token, _signal, retry) {
        seen.push(retry);
        // The first call's reply is lost (the release may have happened on the server).
        if (!retry) throw new Error('connection reset');
        return true;
      },
      abandon: async () => {},
      inspect: async () => undefined,
      list: async () => [],
      forceRelease: async () => false,
    };
    const lock = defineLock(driver, {
      pkg: 'test',
      clock: systemClock,
      ttl: 10_000,
      wait: 0,
      requestTimeout: 1_000,
      pollInterval: 500,
      unavailableAfter: 5_000,
      reentrant: false,
    });
    const lease = await lock.acquire('k');
    expect(await lease.release()).toBe(true);
    expect(seen).toEqual([false, true]);
    await lock.close();
  });
});

import { describe, expect, it } from 'vitest';
import {
  hostBreaker,
  hostBreakers,
  isHostSkipped,
  poolFaultHandling,
  retryPolicy,
} from '../src/driver/index.js';
import { createManualClock } from '../src/index.js';

const boom = () => Promise.reject(new Error('connection refused'));
const ok = () => Promise.resolve('ok');
const options = (clock: ReturnType<typeof createManualClock>) => ({
  pkg: 'test',
  clock,
  isFailure: () => true,
});

async function failTimes(policy: { execute(fn: () => Promise<string>): Promise<string> }, n: number) {
  for (let i = 0; i < n; i++) await expect(policy.execute(boom)).rejects.toThrow('connection refused');
}

describe('hostBreaker', () => {
  it('skips a host after 3 consecutive failures for halfOpenAfter, then tries it again', async () => {
    const clock = createManualClock();
    const breaker = hostBreaker(options(clock));
    await failTimes(breaker, 3);
    await expect(breaker.execute(ok)).rejects.toMatchObject({
      code: 'BACKEND_UNAVAILABLE',
      message: '[test] host skipped: circuit open after 3 failures',
    });
    await clock.advance(500);
    await expect(breaker.execute(ok)).resolves.toBe('ok');
  });
});

describe('hostBreakers (one pool)', () => {
  it('skips an open host while another host of the pool is closed', async () => {
    const clock = createManualClock();
    const make = hostBreakers(options(clock));
    const [a, b] = [make(), make()];
    await failTimes(a, 3);
    await expect(a.execute(ok)).rejects.toThrow(/host skipped/);
    await expect(b.execute(ok)).resolves.toBe('ok');
  });

  it('lets calls through while every host of the pool is open (panic routing)', async () => {
    const clock = createManualClock();
    const make = hostBreakers(options(clock));
    const hosts = [make(), make(), make()];
    for (const h of hosts) await failTimes(h, 3);
    await expect(hosts[1]!.execute(ok)).resolves.toBe('ok');
    // That success closed host 1: the pool has a healthy host again, the open ones are skipped.
    await expect(hosts[0]!.execute(ok)).rejects.toThrow(/host skipped/);
    await expect(hosts[1]!.execute(ok)).resolves.toBe('ok');
  });

  it('a pool of one host keeps skipping (fails fast in an outage)', async () => {
    const clock = createManualClock();
    const only = hostBreakers(options(clock))();
    await failTimes(only, 3);
    await expect(only.execute(ok)).rejects.toThrow(/host skipped/);
  });

  it('pools are independent: another client’s open hosts do not count', async () => {
    const clock = createManualClock();
    const first = hostBreakers(options(clock));
    const second = hostBreakers(options(clock));
    const [a1, a2] = [first(), first()];
    const b1 = second();
    second();
    await failTimes(a1, 3);
    await failTimes(a2, 3);
    await failTimes(b1, 3);
    await expect(a1.execute(ok)).resolves.toBe('ok');
    await expect(b1.execute(ok)).rejects.toThrow(/host skipped/);
  });
});

describe('retryPolicy', () => {
  it('waits `delay` between tries and stops retrying past `budget`', async () => {
    const clock = createManualClock();
    const policy = retryPolicy({
      attempts: 10,
      clock,
      budget: 100,
      delay: () => 40,
      isRetryable: () => true,
    });
    let tries = 0;
    const call = policy.execute(() => {
      tries++;
      return Promise.reject(new Error('leader changed'));
    });
    const settled = call.catch((e: Error) => e.message);
    expect(tries).toBe(1);
    await clock.advance(40);
    expect(tries).toBe(2);
    await clock.advance(40);
    expect(tries).toBe(3);
    // A third pause would start the next try 120 ms after the first: over the budget.
    expect(await settled).toBe('leader changed');
  });

  it('retries a skipped host only when told to', async () => {
    const clock = createManualClock();
    const breaker = hostBreaker(options(clock));
    await failTimes(breaker, 3);
    let retried = 0;
    const policy = retryPolicy({
      attempts: 2,
      isRetryable: (e) => {
        retried++;
        return isHostSkipped(e);
      },
    });
    await expect(policy.execute(() => breaker.execute(ok))).rejects.toThrow(/host skipped/);
    expect(retried).toBe(1);
  });
});

describe('poolFaultHandling', () => {
  const isRecoverable = (e: unknown) => e instanceof Error && e.message === 'connection refused';

  it('without requestTimeout: three immediate tries of recoverable failures, none of others', async () => {
    const clock = createManualClock();
    const { global } = poolFaultHandling({ pkg: 'test', clock, isRecoverable });
    let tries = 0;
    await expect(
      global.execute(() => {
        tries++;
        return boom();
      }),
    ).rejects.toThrow('connection refused');
    expect(tries).toBe(3);
    tries = 0;
    await expect(
      global.execute(() => {
        tries++;
        return Promise.reject(new Error('permission denied'));
      }),
    ).rejects.toThrow('permission denied');
    expect(tries).toBe(1);
  });

  it('with requestTimeout: paced retries (25 ms doubling) within it, a skipped host retried', async () => {
    const clock = createManualClock();
    const { host, global } = poolFaultHandling({ pkg: 'test', clock, isRecoverable, requestTimeout: 200 });
    const h = host();
    let tries = 0;
    const settled = global
      .execute(() =>
        h.execute(() => {
          tries++;
          return boom();
        }),
      )
      .catch((e: Error) => e.message);
    expect(tries).toBe(1);
    await clock.advance(25);
    expect(tries).toBe(2);
    await clock.advance(50);
    // The third failure opens the (only) host: the fourth try, 100 ms later, is refused by the
    // breaker without reaching it, and is retried no more only because of the budget (a fifth try
    // would start 375 ms after the first).
    expect(tries).toBe(3);
    await clock.advance(100);
    expect(tries).toBe(3);
    expect(await settled).toMatch(/host skipped/);
    // The host breaker opens for 500 ms, then lets a call through.
    await clock.advance(500);
    await expect(h.execute(ok)).resolves.toBe('ok');
  });
});

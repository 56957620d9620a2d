import { describe, expect, it } from 'vitest';
import {
  AsyncChannel,
  anySignal,
  createManualClock,
  deadlineSignal,
  Emitter,
  fullJitterBackoff,
  isSwitchyardError,
  jitter,
  raceSignal,
  SingleFlight,
  SwitchyardError,
  sleep,
  throwIfAborted,
} from '../src/index.js';

describe('errors', () => {
  it('carries a stable code, field and normalised cause; the guard works across copies', () => {
    const e = new SwitchyardError('CONFLICT', '[x] conflict', { cause: 'raw string', field: 'key' });
    expect(e.code).toBe('CONFLICT');
    expect(e.field).toBe('key');
    expect(e.cause).toBeInstanceOf(Error);
    expect(isSwitchyardError(e)).toBe(true);
    expect(isSwitchyardError(e, 'NOT_FOUND')).toBe(false);
    expect(SwitchyardError.is(e, 'CONFLICT', 'NOT_FOUND')).toBe(true);
    // A structurally branded object from "another copy" of core is recognised.
    const foreign = Object.assign(new Error('x'), {
      code: 'ABORTED',
      [Symbol.for('@switchyard/core/SwitchyardError')]: true,
    });
    expect(isSwitchyardError(foreign, 'ABORTED')).toBe(true);
    expect(isSwitchyardError(new Error('plain'))).toBe(false);
    expect(isSwitchyardError(null)).toBe(false);
  });
});

describe('manual clock', () => {
  it('fires timers in order only when advanced, and lets promises settle between them', async () => {
    const clock = createManualClock();
    const fired: string[] = [];
    clock.setTimeout(() => fired.push('b'), 20);
    clock.setTimeout(() => fired.push('a'), 10);
    const h = clock.setTimeout(() => fired.push('never'), 15);
    clock.clearTimeout(h);
    expect(clock.pendingTimers()).toBe(2);
    await clock.advance(9);
    expect(fired).toEqual([]);
    await clock.advance(11);
    expect(fired).toEqual(['a', 'b']);
    expect(clock.monotonic()).toBe(20);
    expect(clock.pendingTimers()).toBe(0);
  });

  it('sleep resolves on the injected clock and rejects with ABORTED on abort, clearing its timer', async () => {
    const clock = createManualClock();
    let done = false;
    const p = sleep(100, { clock }).then(() => {
      done = true;
    });
    await clock.advance(99);
    expect(done).toBe(false);
    await clock.advance(1);
    await p;
    expect(done).toBe(true);
    const ac = new AbortController();
    const q = sleep(100, { clock, signal: ac.signal });
    ac.abort();
    await expect(q).rejects.toMatchObject({ code: 'ABORTED' });
    expect(clock.pendingTimers()).toBe(0);
  });
});

describe('abort helpers', () => {
  it('raceSignal rejects with ABORTED, a timeout signal with TIMEOUT', async () => {
    const ac = new AbortController();
    const never = new Promise(() => {});
    const p = raceSignal(never, ac.signal);
    ac.abort();
    await expect(p).rejects.toMatchObject({ code: 'ABORTED' });
    await expect(raceSignal(never, AbortSignal.timeout(5))).rejects.toMatchObject({ code: 'TIMEOUT' });
    await expect(raceSignal(Promise.resolve(7), new AbortController().signal)).resolves.toBe(7);
  });

  it('deadlineSignal fires after its deadline and follows its parent', async () => {
    const clock = createManualClock();
    const d = deadlineSignal(50, { clock });
    await clock.advance(50);
    expect(d.signal.aborted).toBe(true);
    const parent = new AbortController();
    const e = deadlineSignal(1000, { clock, parent: parent.signal });
    expect(clock.pendingTimers()).toBe(1);
    parent.abort('stop');
    expect(e.signal.aborted).toBe(true);
    expect(clock.pendingTimers()).toBe(0);
    e.dispose();
    d.dispose();
  });
});

describe('backoff', () => {
  it('full jitter stays within [0, min(max, base*factor^n))', () => {
    let r = 0.999;
    const b = fullJitterBackoff({ base: 100, max: 1000, random: () => r });
    expect(b(0)).toBe(99);
    expect(b(3)).toBe(799);
    expect(b(10)).toBe(999);
    r = 0;
    expect(b(5)).toBe(0);
    expect(jitter(1000, 0.1, () => 0)).toBe(900);
    expect(jitter(1000, 0.1, () => 1)).toBe(1100);
  });
});

describe('single-flight', () => {
  it('coalesces concurrent calls per key and forgets settled ones', async () => {
    const sf = new SingleFlight<string, number>();
    let calls = 0;
    let release!: (v: number) => void;
    const fn = () => {
      calls++;
      return new Promise<number>((r) => {
        release = r;
      });
    };
    const p1 = sf.do('k', fn);
    const p2 = sf.do('k', fn);
    expect(sf.has('k')).toBe(true);
    release(42);
    expect(await Promise.all([p1, p2])).toEqual([42, 42]);
    expect(calls).toBe(1);
    expect(sf.has('k')).toBe(false);
    await expect(sf.do('k', async () => Promise.reject(new Error('x')))).rejects.toThrow('x');
    expect(sf.size).toBe(0);
  });
});

describe('emitter', () => {
  it('delivers typed events, unsubscribes, and isolates throwing listeners', () => {
    const errors: unknown[] = [];
    const em = new Emitter<{ 'a:b': number }>({ onListenerError: (e) => errors.push(e) });
    const got: number[] = [];
    const off = em.on('a:b', (n) => got.push(n));
    em.on('a:b', () => {
      throw new Error('bad listener');
    });
    em.once('a:b', (n) => got.push(n * 10));
    em.emit('a:b', 1);
    em.emit('a:b', 2);
    off();
    em.emit('a:b', 3);
    expect(got).toEqual([1, 10, 2]);
    expect(errors).toHaveLength(3);
    expect(em.listenerCount('a:b')).toBe(1);
  });
});

describe('async channel', () => {
  it('delivers pushed values in order, ends on close and calls onReturn on break', async () => {
    let returned = 0;
    const ch = new AsyncChannel<number>({ onReturn: () => returned++ });
    ch.push(1);
    ch.push(2);
    const seen: number[] = [];
    setTimeout(() => ch.push(3), 5);
    for await (const v of ch) {
      seen.push(v);
      if (v === 3) break;
    }
    expect(seen).toEqual([1, 2, 3]);
    expect(returned).toBe(1);
    expect(ch.push(4)).toBe(false);
  });

  it('fails the consumer after queued values; coalescing keeps only the newest', async () => {
    const ch = new AsyncChannel<number>();
    ch.push(1);
    ch.fail(new Error('boom'));
    const it = ch[Symbol.asyncIterator]();
    expect(await it.next()).toEqual({ value: 1, done: false });
    await expect(it.next()).rejects.toThrow('boom');
    const co = new AsyncChannel<number>({ coalesce: true });
    co.push(1);
    co.push(2);
    co.close();
    const all: number[] = [];
    for await (const v of co) all.push(v);
    expect(all).toEqual([2]);
  });
});

describe('primitives reject a signal that is not an AbortSignal (no timer left to crash the process)', () => {
  it('sleep, raceSignal, throwIfAborted, anySignal, deadlineSignal', async () => {
    const bad = {} as AbortSignal;
    await expect(sleep(10, { signal: bad })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
      field: 'signal',
    });
    await expect(raceSignal(Promise.resolve(1), bad)).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
      field: 'signal',
    });
    expect(() => throwIfAborted('core', bad)).toThrow(/signal must be an AbortSignal/);
    expect(() => anySignal(bad)).toThrow(/signals\[0\]/);
    expect(() => deadlineSignal(10, { parent: bad })).toThrow(/parent/);
    await expect(sleep(-1)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', field: 'ms' });
    // Nothing fires later: give a would-be timer the time to throw.
    await new Promise((r) => setTimeout(r, 30));
  });
});

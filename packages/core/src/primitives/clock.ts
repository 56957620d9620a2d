/**
 * Injectable time. Renewals, TTLs, backoff and heartbeats take a `Clock` so tests can run them on
 * `createManualClock()` instead of real time.
 */

export type TimerHandle = { readonly __timer: true } | object;

export interface Clock {
  /** Wall-clock milliseconds since the epoch (may jump). */
  now(): number;
  /** Monotonic milliseconds from an arbitrary origin (never goes back). Use it for elapsed time. */
  monotonic(): number;
  /** Schedules `fn` after `ms`. With `unref`, the timer does not keep the process alive. */
  setTimeout(fn: () => void, ms: number, options?: { unref?: boolean }): TimerHandle;
  clearTimeout(handle: TimerHandle | undefined): void;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  monotonic: () => performance.now(),
  setTimeout(fn, ms, options) {
    const t = setTimeout(fn, Math.max(0, ms));
    if (options?.unref) t.unref();
    return t;
  },
  clearTimeout(handle) {
    if (handle !== undefined) clearTimeout(handle as ReturnType<typeof setTimeout>);
  },
};

export interface ManualClock extends Clock {
  /** Moves time forward by `ms`, firing due timers in order and letting promises settle between them. */
  advance(ms: number): Promise<void>;
  /** Sets the wall clock without firing timers (simulates a clock jump). */
  setWallTime(ms: number): void;
  /** Number of scheduled, not yet fired timers. */
  pendingTimers(): number;
}

interface ManualTimer {
  id: number;
  at: number;
  fn: () => void;
}

/** A deterministic clock for tests. Time only moves when `advance` is called. */
export function createManualClock(options: { start?: number } = {}): ManualClock {
  let mono = 0;
  let wallOffset = options.start ?? 1_700_000_000_000;
  let seq = 0;
  const timers = new Map<number, ManualTimer>();

  const clock: ManualClock = {
    now: () => wallOffset + mono,
    monotonic: () => mono,
    setTimeout(fn, ms) {
      const id = ++seq;
      timers.set(id, { id, at: mono + Math.max(0, ms), fn });
      return { __timer: true, id } as TimerHandle;
    },
    clearTimeout(handle) {
      if (handle && typeof handle === 'object' && 'id' in handle)
        timers.delete((handle as { id: number }).id);
    },
    async advance(ms) {
      const target = mono + ms;
      for (;;) {
        await flushMicrotasks();
        let next: ManualTimer | undefined;
        for (const t of timers.values()) {
          if (
            t.at <= target &&
            (next === undefined || t.at < next.at || (t.at === next.at && t.id < next.id))
          )
            next = t;
        }
        if (!next) break;
        timers.delete(next.id);
        mono = next.at;
        next.fn();
      }
      mono = target;
      await flushMicrotasks();
    },
    setWallTime(ms) {
      wallOffset = ms - mono;
    },
    pendingTimers: () => timers.size,
  };
  return clock;
}

async function flushMicrotasks(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

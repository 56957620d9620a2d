import type { Clock, TimerHandle } from './clock.js';

export type DeadlineOutcome<T> =
  | { ok: true; value: T }
  | { ok: false; reason: 'timeout' | 'aborted' | 'failed'; error: unknown; signal?: AbortSignal };

/**
 * Awaits `promise` for at most `ms`, or until one of `signals` fires, with one timer and plain
 * listeners: no AbortController and no `AbortSignal.any` per call (they cost more than a Redis
 * round trip on a hot path). The promise itself is not cancelled; its late settlement is ignored.
 */
export function raceDeadline<T>(
  promise: Promise<T>,
  ms: number,
  clock: Clock,
  signals: readonly (AbortSignal | undefined)[],
): Promise<DeadlineOutcome<T>> {
  return new Promise((resolve) => {
    let timer: TimerHandle | undefined;
    let done = false;
    const listeners: [AbortSignal, () => void][] = [];
    const finish = (outcome: DeadlineOutcome<T>) => {
      if (done) return;
      done = true;
      clock.clearTimeout(timer);
      for (const [s, l] of listeners) s.removeEventListener('abort', l);
      resolve(outcome);
    };
    for (const s of signals) {
      if (!s) continue;
      if (s.aborted) {
        promise.catch(() => {});
        return finish({ ok: false, reason: 'aborted', error: s.reason, signal: s });
      }
      const l = () => finish({ ok: false, reason: 'aborted', error: s.reason, signal: s });
      s.addEventListener('abort', l, { once: true });
      listeners.push([s, l]);
    }
    if (Number.isFinite(ms)) {
      timer = clock.setTimeout(() => finish({ ok: false, reason: 'timeout', error: undefined }), ms, {
        unref: true,
      });
    }
    promise.then(
      (value) => finish({ ok: true, value }),
      (error: unknown) => finish({ ok: false, reason: 'failed', error }),
    );
  });
}

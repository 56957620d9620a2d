import { abortedError, invalidArgument } from '../errors.js';
import { assertDuration, assertSignal } from '../validation.js';
import { type Clock, systemClock } from './clock.js';

/** Throws `ABORTED` (or `TIMEOUT` for a timeout signal) if `signal` has fired. */
export function throwIfAborted(pkg: string, signal: AbortSignal | undefined, what?: string): void {
  assertSignal(pkg, 'signal', signal);
  if (signal?.aborted) throw abortedError(pkg, signal, what);
}

/** Resolves after `ms` on `clock`; rejects with `ABORTED` when `signal` fires. Leaves no timer behind. */
export function sleep(
  ms: number,
  options: { signal?: AbortSignal | undefined; clock?: Clock; pkg?: string; unref?: boolean } = {},
): Promise<void> {
  const { signal, clock = systemClock, pkg = 'core' } = options;
  // Checked before any timer exists: a bad argument must never leave a timer that throws later.
  try {
    assertSignal(pkg, 'signal', signal);
    assertDuration(pkg, 'ms', ms, { allowZero: true });
  } catch (error) {
    return Promise.reject(error);
  }
  return new Promise<void>((resolve, reject) => {
    if (signal?.aborted) return reject(abortedError(pkg, signal, 'sleep'));
    const onAbort = () => {
      clock.clearTimeout(handle);
      reject(abortedError(pkg, signal, 'sleep'));
    };
    const handle = clock.setTimeout(
      () => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      },
      ms,
      { unref: options.unref ?? false },
    );
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Races `promise` against `signal`: rejects with `ABORTED`/`TIMEOUT` as soon as the signal fires.
 * The underlying operation is not cancelled; pass the signal to it as well where it accepts one.
 */
export function raceSignal<T>(
  promise: Promise<T>,
  signal: AbortSignal | undefined,
  pkg = 'core',
  what?: string,
): Promise<T> {
  if (!signal) return promise;
  if (!(signal instanceof AbortSignal)) {
    promise.catch(() => {});
    return Promise.reject(invalidArgument(pkg, 'signal', 'must be an AbortSignal'));
  }
  if (signal.aborted) {
    promise.catch(() => {});
    return Promise.reject(abortedError(pkg, signal, what));
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(abortedError(pkg, signal, what));
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}

/** Combines signals (any fires → the result fires). Undefined entries are ignored. */
export function anySignal(...signals: (AbortSignal | undefined)[]): AbortSignal | undefined {
  const present = signals.filter((s): s is AbortSignal => s !== undefined);
  present.forEach((s, i) => assertSignal('core', `signals[${i}]`, s));
  if (present.length === 0) return undefined;
  if (present.length === 1) return present[0];
  return AbortSignal.any(present);
}

/** A signal that fires after `ms` on `clock` or when `parent` fires; `dispose()` clears the timer. */
export function deadlineSignal(
  ms: number,
  options: { parent?: AbortSignal | undefined; clock?: Clock; what?: string } = {},
): { signal: AbortSignal; dispose(): void } {
  const { parent, clock = systemClock } = options;
  assertSignal('core', 'parent', parent);
  const controller = new AbortController();
  let handle: ReturnType<Clock['setTimeout']> | undefined;
  const onParent = () => {
    clock.clearTimeout(handle);
    controller.abort(parent?.reason);
  };
  if (parent?.aborted) controller.abort(parent.reason);
  else parent?.addEventListener('abort', onParent, { once: true });
  if (Number.isFinite(ms) && !controller.signal.aborted) {
    handle = clock.setTimeout(() => {
      const err = new Error(`${options.what ?? 'operation'} timed out after ${ms} ms`);
      err.name = 'TimeoutError';
      controller.abort(err);
    }, ms);
  }
  return {
    signal: controller.signal,
    dispose() {
      clock.clearTimeout(handle);
      parent?.removeEventListener('abort', onParent);
    },
  };
}

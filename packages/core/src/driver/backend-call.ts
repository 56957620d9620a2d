import { abortedError, backendUnavailable, isSwitchyardError, SwitchyardError } from '../errors.js';
import type { Clock } from '../primitives/clock.js';
import { raceDeadline } from '../primitives/deadline-race.js';

export interface BackendCallOptions {
  pkg: string;
  clock: Clock;
  /** Deadline of the call, ms. */
  timeout: number;
  /** The caller's signal: when it fires the call rejects with `ABORTED` (or `TIMEOUT`). */
  signal?: AbortSignal | undefined;
}

/**
 * Runs one backend call under a deadline and maps its failure the same way in every package: the
 * caller's abort → `ABORTED`/`TIMEOUT`; no reply within the deadline → `BACKEND_UNAVAILABLE`
 * ("got no reply within N ms"); any other failure → `BACKEND_UNAVAILABLE` with the client error as
 * `cause`. Switchyard errors thrown by `fn` (a driver's `INVALID_ARGUMENT`, `CONFLICT`) pass through.
 * The call gets a signal that fires on either; it also stops waiting if `fn` ignores it.
 */
export function callBackend<T>(
  what: string,
  options: BackendCallOptions,
  fn: (signal: AbortSignal) => Promise<T>,
): Promise<T> {
  const { pkg, clock, timeout, signal } = options;
  if (signal?.aborted) return Promise.reject(abortedError(pkg, signal, what));
  // One controller, one timer and no listener on our own signal: an AbortSignal listener costs
  // several microseconds in Node, more than the rest of the call's overhead together.
  const controller = new AbortController();
  return new Promise<T>((resolve, reject) => {
    let settled = false;
    const finish = (): boolean => {
      if (settled) return false;
      settled = true;
      clock.clearTimeout(timer);
      if (signal) signal.removeEventListener('abort', onAbort);
      return true;
    };
    const onAbort = () => {
      if (!finish()) return;
      controller.abort(signal?.reason);
      reject(abortedError(pkg, signal, what));
    };
    const timer = clock.setTimeout(
      () => {
        if (!finish()) return;
        const reason = new Error(`${what} timed out after ${timeout} ms`);
        reason.name = 'TimeoutError';
        controller.abort(reason);
        reject(
          new SwitchyardError('BACKEND_UNAVAILABLE', `[${pkg}] ${what} got no reply within ${timeout} ms`, {
            cause: reason,
          }),
        );
      },
      timeout,
      { unref: true },
    );
    if (signal) signal.addEventListener('abort', onAbort, { once: true });
    let call: Promise<T>;
    try {
      call = fn(controller.signal);
    } catch (error) {
      call = Promise.reject(error);
    }
    call.then(
      (value) => {
        if (finish()) resolve(value);
      },
      (error: unknown) => {
        if (!finish()) return;
        reject(isSwitchyardError(error) ? error : backendUnavailable(pkg, what, error));
      },
    );
  });
}

/**
 * `callBackend` for hot paths whose client takes no signal (ioredis): the same error mapping, but
 * on `raceDeadline` — one timer, no AbortSignal created per call (creating one costs ~3 µs in Node,
 * a tenth of a loopback Redis round trip). `fn` is not told about the deadline; its late settlement
 * is ignored.
 */
export async function raceBackend<T>(
  what: string,
  options: BackendCallOptions,
  fn: () => Promise<T>,
): Promise<T> {
  const { pkg, clock, timeout, signal } = options;
  if (signal?.aborted) throw abortedError(pkg, signal, what);
  let started: Promise<T>;
  try {
    started = fn();
  } catch (error) {
    started = Promise.reject(error);
  }
  const out = await raceDeadline(started, timeout, clock, signal ? [signal] : []);
  if (out.ok) return out.value;
  if (out.reason === 'aborted') throw abortedError(pkg, signal, what);
  if (out.reason === 'timeout') {
    throw new SwitchyardError('BACKEND_UNAVAILABLE', `[${pkg}] ${what} got no reply within ${timeout} ms`);
  }
  if (isSwitchyardError(out.error)) throw out.error;
  throw backendUnavailable(pkg, what, out.error);
}

import { abortedError, backendUnavailable, isSwitchyardError, SwitchyardError } from '../errors.js';
import { deadlineSignal, raceSignal } from '../primitives/abort.js';
import type { Clock } from '../primitives/clock.js';

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
export async function callBackend<T>(
  what: string,
  options: BackendCallOptions,
  fn: (signal: AbortSignal) => Promise<T>,
): Promise<T> {
  const { pkg, clock, timeout, signal } = options;
  if (signal?.aborted) throw abortedError(pkg, signal, what);
  const deadline = deadlineSignal(timeout, { parent: signal, clock, what });
  try {
    return await raceSignal(
      Promise.resolve().then(() => fn(deadline.signal)),
      deadline.signal,
      pkg,
      what,
    );
  } catch (error) {
    if (signal?.aborted) throw abortedError(pkg, signal, what);
    if (deadline.signal.aborted) {
      throw new SwitchyardError('BACKEND_UNAVAILABLE', `[${pkg}] ${what} got no reply within ${timeout} ms`, {
        cause: isSwitchyardError(error, 'TIMEOUT') ? error.cause : error,
      });
    }
    if (isSwitchyardError(error)) throw error;
    throw backendUnavailable(pkg, what, error);
  } finally {
    deadline.dispose();
  }
}

import type { DiscoveryBackend, DiscoveryEvent, InstanceFilter } from '../../contracts/discovery.js';
import { SwitchyardError } from '../../errors.js';
import { raceSignal, sleep } from '../../primitives/abort.js';
import type { Backoff } from '../../primitives/backoff.js';
import type { Clock } from '../../primitives/clock.js';
import { CLIENT_PKG as PKG } from './options.js';

/** A watch that delivered events for this long resets the reconnect backoff. */
export const HEALTHY_WATCH_MS = 5_000;

export interface WatchLoopOptions {
  backend: DiscoveryBackend;
  service: string;
  filter: InstanceFilter;
  clock: Clock;
  backoff: Backoff;
  /** Ends the loop for good. */
  signal: AbortSignal;
  /** Called as each attempt opens; aborting the controller restarts the watch. */
  onAttempt(attempt: AbortController): void;
  /** `first` is true for the first event of each attempt (a full snapshot). */
  onEvent(event: DiscoveryEvent, first: boolean): void;
  /** The attempt failed or its stream ended; the loop backs off and re-opens it. */
  onError(error: unknown): void;
}

/**
 * Keeps one backend watch open until `signal` fires: a failed, ended or restarted watch is re-opened
 * after a full-jitter backoff. Never throws.
 */
export async function runWatchLoop(options: WatchLoopOptions): Promise<void> {
  const { backend, service, clock, backoff, signal: closed } = options;
  let failures = 0;
  while (!closed.aborted) {
    const attempt = new AbortController();
    // Not AbortSignal.any: a long-lived parent collecting one dependant per reconnect is a leak risk.
    const onClose = () => attempt.abort(closed.reason);
    closed.addEventListener('abort', onClose, { once: true });
    options.onAttempt(attempt);
    const signal = attempt.signal;
    let iterator: AsyncIterator<DiscoveryEvent> | undefined;
    let first = true;
    const startedAt = clock.monotonic();
    try {
      iterator = backend.watch(service, { filter: options.filter, signal })[Symbol.asyncIterator]();
      for (;;) {
        const next = await raceSignal(iterator.next(), signal, PKG, `watch of ${service}`);
        if (next.done) break;
        options.onEvent(next.value, first);
        first = false;
      }
      if (closed.aborted) return;
      throw new SwitchyardError('BACKEND_UNAVAILABLE', `[${PKG}] watch of ${service} ended`);
    } catch (error) {
      if (closed.aborted) return;
      options.onError(attempt.signal.aborted ? attempt.signal.reason : error);
    } finally {
      closed.removeEventListener('abort', onClose);
      const it = iterator;
      if (it?.return) {
        void Promise.resolve()
          .then(() => it.return?.())
          .catch(() => {});
      }
    }
    // Only a watch that worked for a while resets the backoff: one that fails right after its
    // first snapshot must not turn into a tight relist loop.
    if (!first && clock.monotonic() - startedAt >= HEALTHY_WATCH_MS) failures = 0;
    try {
      await sleep(backoff(failures++), { clock, signal: closed, pkg: PKG });
    } catch {
      return;
    }
  }
}

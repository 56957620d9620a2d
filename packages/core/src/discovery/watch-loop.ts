import type { DiscoveryEvent, InstanceFilter } from '../contracts/discovery.js';
import { SwitchyardError } from '../errors.js';
import { raceSignal, sleep } from '../primitives/abort.js';
import type { Backoff } from '../primitives/backoff.js';
import type { Clock } from '../primitives/clock.js';

/** A watch that delivered events for this long resets the reconnect backoff. */
export const HEALTHY_WATCH_MS = 5_000;

/** Anything with a discovery `watch` (a backend, a discovery client). */
export interface WatchSource {
  watch(
    service: string,
    options?: { filter?: InstanceFilter; signal?: AbortSignal },
  ): AsyncIterable<DiscoveryEvent>;
}

export interface WatchLoopOptions<E extends DiscoveryEvent = DiscoveryEvent> {
  /** Package name for error messages. */
  pkg: string;
  source: WatchSource;
  service: string;
  filter?: InstanceFilter | undefined;
  clock: Clock;
  backoff: Backoff;
  /** Ends the loop for good. */
  signal: AbortSignal;
  /** Called as each attempt opens; aborting the controller restarts the watch. */
  onAttempt?(attempt: AbortController): void;
  /** `first` is true for the first event of each attempt (a full snapshot). */
  onEvent(event: E, first: boolean): void;
  /** The attempt failed or its stream ended; the loop backs off and re-opens it. */
  onError(error: unknown): void;
}

/**
 * Consumes a discovery watch until `signal` fires: a failed, ended or restarted watch is re-opened
 * after a full-jitter backoff (reset only by a watch that stayed healthy for a while, so a watch
 * that fails right after its first snapshot cannot turn into a tight relist loop). Never throws.
 * The discovery client and the load balancer both follow their source through it.
 */
export async function runWatchLoop<E extends DiscoveryEvent = DiscoveryEvent>(
  options: WatchLoopOptions<E>,
): Promise<void> {
  const { source, service, clock, backoff, signal: closed, pkg: PKG } = options;
  let failures = 0;
  while (!closed.aborted) {
    const attempt = new AbortController();
    // Not AbortSignal.any: a long-lived parent collecting one dependant per reconnect is a leak risk.
    const onClose = () => attempt.abort(closed.reason);
    closed.addEventListener('abort', onClose, { once: true });
    options.onAttempt?.(attempt);
    const signal = attempt.signal;
    let iterator: AsyncIterator<E> | undefined;
    let first = true;
    const startedAt = clock.monotonic();
    try {
      const watchOptions = options.filter === undefined ? { signal } : { filter: options.filter, signal };
      iterator = (source.watch(service, watchOptions) as AsyncIterable<E>)[Symbol.asyncIterator]();
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
      await sleep(backoff(failures++), { clock, signal: closed, pkg: PKG, unref: true });
    } catch {
      return;
    }
  }
}

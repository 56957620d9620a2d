import type { Clock } from '../../primitives/clock.js';
import type { ListenerErrorHandler } from '../../primitives/emitter.js';

/**
 * The options every lock factory takes through `lockOptions()`, typed once for backend packages
 * to extend (`interface MyLockOptions extends LockCommonOptions { client?: …; prefix?: … }`).
 */
export interface LockCommonOptions {
  /** Default lease TTL, ms (default 30 000: `DEFAULT_TTL.lock`). */
  ttl?: number;
  /** Default wait for a held lock, ms (default `Infinity`: until `signal` fires). */
  wait?: number;
  /** Deadline of one backend call, ms (default 5 000). */
  requestTimeout?: number;
  /** Upper bound of the jittered fallback poll while waiting for a notification, ms. */
  pollInterval?: number;
  /** A wait that finds the backend unreachable for this long rejects with `BACKEND_UNAVAILABLE`, ms (default 10 000). */
  unavailableAfter?: number;
  /** Safety margin subtracted from a lease's validity, ms (default 1 % of ttl + 2). */
  drift?: number;
  /** The same owner may re-acquire a key it holds in this client; releases count down (default false). */
  reentrant?: boolean;
  clock?: Clock;
  /** Where a throwing `lease:lost` listener's error goes (default: a process warning). */
  onListenerError?: ListenerErrorHandler;
}

import type { LockCapabilities, LockInfo } from '../../contracts/lock.js';
import type { ManagedLease } from '../../lock/managed-lease.js';

/** One `acquire` call as the driver sees it: every attempt of the call carries the same `id`. */
export interface LockRequest {
  readonly key: string;
  /** Who holds (shown by `inspect`); not an identity: release and extend go by `id` and token. */
  readonly owner: string;
  /** Unique per acquire call (a request id): the handle the backend keys the holder and queue place by. */
  readonly id: string;
  readonly ttl: number;
}

/** What an attempt (or a hand-off received while waiting) resolves to. */
export type LockAttempt =
  | {
      readonly acquired: true;
      readonly token: bigint;
      /** ms of validity the grant has from `grantedAt` (a hand-off may grant less than the ttl); default ttl. */
      readonly validFor?: number;
      /** Monotonic time validity counts from; default: when the attempt was sent. */
      readonly grantedAt?: number;
    }
  | {
      readonly acquired: false;
      /** ms until the current holder's TTL runs out (-1 or omitted: unknown); bounds the fallback poll. */
      readonly retryIn?: number;
    };

/** A request's wait for a reason to try again, opened after its first failed attempt. */
export interface LockWaiter {
  /** Notifications reach this waiter (false: the layer polls faster until they do). */
  readonly listening: boolean;
  /**
   * Every notice sent after the attempt that opened this wait was sent reaches this waiter (the
   * driver listened before sending it, or watches from the attempt's revision), so the layer goes
   * straight to waiting instead of trying once more after opening the wait (default false).
   */
  readonly sinceAttempt?: boolean;
  /**
   * Resolves on a notice for the key (release, hand-off) or after `ms`; with the attempt result
   * when the backend handed the lock to this request while it waited.
   */
  wait(ms: number, signal: AbortSignal): Promise<LockAttempt | undefined>;
  /** Stops waiting (removes the local waiter entry); the layer calls it once. */
  close(): void;
}

export interface LockAttemptOptions {
  /**
   * > 0: the caller will wait up to this many ms (`Infinity` when unbounded: cap it with the
   * backend's own queue lease), so the backend may queue the request for that long (FIFO place,
   * hand-off target). 0: a single try (`tryAcquire`, `wait: 0`).
   */
  readonly queueFor: number;
  /** An earlier attempt of this request may have queued it (refresh the place instead of queueing again). */
  readonly requeue: boolean;
}

/**
 * The backend half of a lock: remote operations only. Argument checks, owner scope and
 * reentrancy, the wait loop (deadline, outage bound, abort, stale grants), leases (watchdog
 * renewal, loss), stats, admin checks and close live in the layer (`defineLock`).
 */
export interface LockDriver {
  readonly name: string;
  readonly capabilities: LockCapabilities;
  /**
   * New acquirers line up behind this client's own waiters for the key instead of racing them
   * (for kinds whose backend keeps no queue).
   */
  readonly lineUpLocally?: boolean;
  /** Smallest TTL the backend honours, ms (1 000 when leases are whole seconds). */
  readonly minTtl?: number;
  attempt(request: LockRequest, options: LockAttemptOptions, signal: AbortSignal): Promise<LockAttempt>;
  /** Opens the wait of a request; subscribing may take at most `bound` ms (then `listening` is false). */
  waiter(request: LockRequest, bound: number): Promise<LockWaiter>;
  /** Resets the TTL of the held lock; `false` when this request no longer holds it. */
  extend(request: LockRequest, token: bigint, ttl: number, signal: AbortSignal): Promise<boolean>;
  /**
   * Releases; `false` when this request no longer held it (a no-op). Must be safe to retry: the
   * layer calls once more, with `retry` true, after a call that failed without a clear answer
   * (no reply, connection error), and a driver that keeps a release latch answers from it like the
   * first call would have.
   */
  release(request: LockRequest, token: bigint, signal: AbortSignal, retry: boolean): Promise<boolean>;
  /**
   * Undoes what an abandoned acquire may have left: a queue place, or a lock it won in an attempt
   * whose reply never arrived. Called after that attempt settled. Best effort, may throw.
   */
  abandon(request: LockRequest, signal: AbortSignal): Promise<void>;
  inspect(key: string, signal: AbortSignal): Promise<LockInfo | undefined>;
  list(limit: number, signal: AbortSignal): Promise<LockInfo[]>;
  /** Frees `key` whoever holds it (fencing counters untouched); `false` when it was free. */
  forceRelease(key: string, signal: AbortSignal): Promise<boolean>;
  /**
   * Called when a lease is granted: the driver may follow it (a session that can expire, a
   * forced-release notice for this request) and call `lease.markLost(cause)`. Returns a function
   * the layer calls when the lease ends.
   */
  track?(request: LockRequest, lease: ManagedLease): () => void;
  /** Releases the driver's own resources (subscriptions, sessions, its client when it created it). */
  close?(): Promise<void>;
}

import type { Unsubscribe } from '../primitives/emitter.js';

export interface AcquireOptions {
  /** Lease time in ms; the lock expires this long after the last renewal if its holder dies. */
  ttl?: number;
  /**
   * How long to wait for a held lock, in ms: `0` tries once, `Infinity` waits until `signal` fires.
   * Exceeding it rejects with `LOCK_TIMEOUT`.
   */
  wait?: number;
  signal?: AbortSignal;
  /**
   * Renew the lease automatically (watchdog at about ttl/3) until released (default true).
   * With `false` the lease simply expires after `ttl` unless `extend()` is called.
   */
  autoRenew?: boolean;
  /** Explicit owner id (for reentrancy and hand-off across processes); random per lease by default. */
  owner?: string;
}

export interface LockLeaseEvents {
  /** The lock is no longer held: expiry, failed renewal, forced release, backend loss. */
  'lease:lost': { key: string; token: bigint; cause: unknown };
}

/**
 * A held lock. `token` is the fencing token: strictly increasing per key across all holders, so a
 * protected resource can reject writes from a holder that has lost the lock (see `fencing`).
 */
export interface LockLease extends AsyncDisposable {
  readonly key: string;
  readonly owner: string;
  readonly token: bigint;
  /** Fires (reason: a `LOCK_LOST` error) when the lock is lost; never fires after a normal release. */
  readonly signal: AbortSignal;
  /** Monotonic-clock time (ms) until which the holder may assume it holds the lock. */
  readonly validUntil: number;
  readonly held: boolean;
  /** Resets the TTL (to `ttl` or the acquire TTL). Rejects with `LOCK_LOST` if no longer held. */
  extend(ttl?: number, options?: { signal?: AbortSignal }): Promise<void>;
  /** Releases; resolves `true` if this lease held the lock, `false` if it had already been lost (a no-op). */
  release(options?: { signal?: AbortSignal }): Promise<boolean>;
  on<K extends keyof LockLeaseEvents>(event: K, listener: (payload: LockLeaseEvents[K]) => void): Unsubscribe;
}

export interface LockCapabilities {
  /** FIFO order among waiters. */
  readonly fair: boolean;
  /** Same owner may re-acquire; release counts down. */
  readonly reentrant: boolean;
  /** Smallest TTL unit the backend honours. */
  readonly ttlGranularity: 'milliseconds' | 'seconds';
  /** Waiters are woken by notification rather than polling only. */
  readonly notifications: boolean;
}

export interface LockInfo {
  readonly key: string;
  readonly owner: string;
  readonly token: bigint;
  /** ms left on the server-side TTL (-1 if unknown). */
  readonly ttlLeft: number;
  readonly waiters: number;
}

export interface DistributedLock extends AsyncDisposable {
  readonly name: string;
  readonly capabilities: LockCapabilities;
  /** Acquires or rejects with `LOCK_TIMEOUT` (wait exceeded), `ABORTED`, `BACKEND_UNAVAILABLE`. */
  acquire(key: string, options?: AcquireOptions): Promise<LockLease>;
  /** One attempt, no waiting: the lease, or `undefined` if held by someone else. */
  tryAcquire(key: string, options?: Omit<AcquireOptions, 'wait'>): Promise<LockLease | undefined>;
  /** Current holder, or `undefined` when free. */
  inspect(key: string, options?: { signal?: AbortSignal }): Promise<LockInfo | undefined>;
  close(): Promise<void>;
}

export type DistributedLockFactory<Options = unknown> = (options: Options) => DistributedLock;

/** Counters of one lock client, for the operator API. */
export interface LockStats {
  /** Successful acquisitions (reentrant re-entries not counted). */
  readonly acquired: number;
  /** Acquisitions whose first attempt found the lock held. */
  readonly contended: number;
  /** Acquisitions that gave up with `LOCK_TIMEOUT`. */
  readonly timedOut: number;
  /** Acquisitions cancelled by their signal. */
  readonly aborted: number;
  /** Leases that ended lost (expiry, failed renewal, forced release, backend loss). */
  readonly lost: number;
  /** Leases released normally. */
  readonly released: number;
  /** Forced releases performed by this client. */
  readonly forceReleased: number;
  /** Locks held right now by this client. */
  readonly held: number;
  /** Acquire calls waiting right now. */
  readonly waiting: number;
  /** Wait time of successful acquisitions: `count` acquisitions waited at most `le` ms (`Infinity` for the last bucket). */
  readonly waitHistogram: readonly { readonly le: number; readonly count: number }[];
}

/** The operator API every lock backend offers beside the contract. */
export interface LockAdmin {
  /** Every held lock this client can see. */
  list(options?: { signal?: AbortSignal; limit?: number }): Promise<LockInfo[]>;
  /** Frees `key` whoever holds it; the holder's lease is told it was lost; fencing counters are untouched. */
  forceRelease(key: string, options?: { signal?: AbortSignal }): Promise<boolean>;
  stats(): LockStats;
}

/**
 * The outcome of a write guarded by a fencing token (`fencedWrite` on Redis, `fencedPut` on etcd,
 * the SQL fence): the same shape on every backend.
 */
export interface FencedResult<Reply = unknown> {
  /** `false`: a newer token has already written; this write was not applied. */
  readonly applied: boolean;
  /** The token the resource now records: ours when applied, the newer one that blocked us otherwise. */
  readonly fence: bigint;
  /** The guarded command's reply, when applied and the backend returns one. */
  readonly reply?: Reply;
}

import { randomBytes } from 'node:crypto';
import type {
  AcquireOptions,
  DistributedLock,
  LockAdmin,
  LockInfo,
  LockLease,
  LockStats,
} from '../../contracts/lock.js';
import {
  abortedError,
  closedError,
  isSwitchyardError,
  lockTimeoutError,
  SwitchyardError,
} from '../../errors.js';
import { LockStatsRecorder } from '../../lock/lock-stats-recorder.js';
import { type LeaseDriver, ManagedLease } from '../../lock/managed-lease.js';
import { currentLockOwner } from '../../lock/owner-scope.js';
import { ReentrantLease } from '../../lock/reentrant-lease.js';
import { DEFAULT_REQUEST_TIMEOUT, DEFAULT_TTL, DEFAULT_UNAVAILABLE_AFTER } from '../../naming.js';
import { opt, parseOptions } from '../../options/option-schema.js';
import { sleep } from '../../primitives/abort.js';
import { type Backoff, fullJitterBackoff, jitter } from '../../primitives/backoff.js';
import type { Clock } from '../../primitives/clock.js';
import { systemClock } from '../../primitives/clock.js';
import { raceDeadline } from '../../primitives/deadline-race.js';
import type { ListenerErrorHandler } from '../../primitives/emitter.js';
import { traced } from '../../primitives/tracing.js';
import { assertKey } from '../../validation.js';
import { callBackend } from '../backend-call.js';
import type { LockAttempt, LockDriver, LockRequest, LockWaiter } from './lock-driver.js';

/** The options every lock backend takes (spread `lockOptions()` into a factory's schema). */
export function lockOptions(defaults: { pollInterval?: number; requestTimeout?: number } = {}) {
  return {
    /** Default lease TTL, ms (30 000 for every backend). */
    ttl: opt.duration().default(DEFAULT_TTL.lock),
    /** Default wait for a held lock, ms (`Infinity`: until the signal fires). */
    wait: opt.wait().default(Number.POSITIVE_INFINITY),
    /** Deadline of one backend call, ms. */
    requestTimeout: opt.duration().default(defaults.requestTimeout ?? DEFAULT_REQUEST_TIMEOUT),
    /** Upper bound of the fallback poll while waiting for a notification, ms (jittered ±25 %). */
    pollInterval: opt.duration({ min: 1 }).default(defaults.pollInterval ?? 500),
    /** A wait that finds the backend unreachable for this long rejects with BACKEND_UNAVAILABLE, ms. */
    unavailableAfter: opt.duration().default(DEFAULT_UNAVAILABLE_AFTER),
    /** Safety margin subtracted from a lease's validity, ms (default 1 % of ttl + 2). */
    drift: opt.duration({ allowZero: true }),
    /** The same owner may re-acquire a held key in this client; release counts down. */
    reentrant: opt.boolean().default(false),
    clock: opt.clock().default(systemClock),
    /** Where a throwing `lease:lost` listener's error goes (default: a process warning). */
    onListenerError: opt.func<ListenerErrorHandler>(),
  };
}

export interface LockKitOptions {
  pkg: string;
  clock: Clock;
  ttl: number;
  wait: number;
  requestTimeout: number;
  pollInterval: number;
  unavailableAfter: number;
  drift?: number | undefined;
  reentrant: boolean;
  /** Retry delays while the backend is unreachable during a wait (default 50 ms → 1 s, full jitter). */
  backoff?: Backoff;
  onListenerError?: ListenerErrorHandler | undefined;
}

/** A lock built by the layer: the contract plus the operator API. */
export interface KitLock extends DistributedLock, LockAdmin {}

/** Fallback poll cap (ms) while the waiter's notifications are not flowing yet. */
const UNSUBSCRIBED_POLL = 100;
const NEVER = new AbortController().signal;
const NO_SIGNALS: readonly AbortSignal[] = [];

/** The layer's side of every lease it hands out. */
interface LeaseCalls {
  extend(req: LockRequest, token: bigint, ttl: number, signal: AbortSignal | undefined): Promise<boolean>;
  release(req: LockRequest, token: bigint, signal: AbortSignal | undefined): Promise<boolean>;
  ended(lease: ManagedLease, how: 'released' | 'lost'): void;
}

/** A lease's `LeaseDriver`: its request and token, bound to the layer's calls. */
class LeaseDriverOf implements LeaseDriver {
  readonly #calls: LeaseCalls;
  readonly #req: LockRequest;
  readonly #token: bigint;

  constructor(calls: LeaseCalls, req: LockRequest, token: bigint) {
    this.#calls = calls;
    this.#req = req;
    this.#token = token;
  }

  extend(ttl: number, signal?: AbortSignal): Promise<boolean> {
    return this.#calls.extend(this.#req, this.#token, ttl, signal);
  }

  release(signal?: AbortSignal): Promise<boolean> {
    return this.#calls.release(this.#req, this.#token, signal);
  }
}

/** The state of one acquire call while it runs. */
interface PendingAcquire {
  readonly req: LockRequest;
  readonly signal: AbortSignal | undefined;
  readonly autoRenew: boolean;
  readonly start: number;
  readonly deadline: number;
  waitSignal: AbortSignal | undefined;
  teardown: (() => void) | undefined;
  waiter: LockWaiter | undefined;
  /** An attempt may have queued the request (the next attempt refreshes its place). */
  queued: boolean;
  /** An attempt may have left state behind that a give-up must undo. */
  dirty: boolean;
}

interface Reentry {
  lease: ManagedLease;
  count: number;
}

/**
 * Builds a `DistributedLock` + `LockAdmin` from a driver: strict argument checks, owner scope and
 * reentrancy, the wait loop (one attempt on the uncontended path; then notifications with a bounded
 * jittered fallback poll; the wait bound → `LOCK_TIMEOUT` with the last outage as cause; an outage
 * longer than `unavailableAfter` → `BACKEND_UNAVAILABLE`; an abort undoes what the attempt in flight
 * may leave behind once it settles; a grant whose validity ran out while the waiter was frozen is
 * given back, never returned), leases on core's `ManagedLease`, stats, admin and close.
 */
export function defineLock(driver: LockDriver, kit: LockKitOptions): KitLock {
  return new LockLayer(driver, kit).api();
}

class LockLayer {
  readonly #d: LockDriver;
  readonly #k: LockKitOptions;
  readonly #pkg: string;
  readonly #stats = new LockStatsRecorder();
  /** Held leases, each with what ends the driver's following of it. */
  readonly #leases = new Map<ManagedLease, (() => void) | undefined>();
  /** What every lease calls back into (one object per client, not closures per lease). */
  readonly #calls: LeaseCalls;
  readonly #reentry = new Map<string, Reentry>();
  readonly #pending = new Set<(error: SwitchyardError) => void>();
  readonly #waitingOn = new Map<string, number>();
  readonly #background = new Set<Promise<unknown>>();
  readonly #backoff: Backoff;
  readonly #acquireSchema;
  readonly #idPrefix = randomBytes(9).toString('base64url');
  #idSeq = 0;
  #closed = false;

  constructor(driver: LockDriver, kit: LockKitOptions) {
    this.#d = driver;
    this.#k = kit;
    this.#pkg = kit.pkg;
    this.#backoff = kit.backoff ?? fullJitterBackoff({ base: 50, max: 1_000 });
    this.#calls = {
      extend: (req, token, ttl, signal) => {
        let call: Promise<boolean>;
        try {
          call = this.#d.extend(req, token, ttl, signal ?? NEVER);
        } catch (error) {
          call = Promise.reject(error);
        }
        return this.#settle('extend', this.#k.requestTimeout, signal, undefined, call);
      },
      release: (req, token, signal) => this.#release(req, token, signal),
      ended: (lease, how) => {
        const untrack = this.#leases.get(lease);
        this.#leases.delete(lease);
        untrack?.();
        if (how === 'lost') this.#stats.lost++;
        else this.#stats.released++;
      },
    };
    this.#acquireSchema = {
      ttl: opt.duration({ min: driver.minTtl ?? 1 }),
      wait: opt.wait(),
      signal: opt.signal(),
      autoRenew: opt.boolean(),
      owner: opt.string({ maxLength: 256 }),
    };
  }

  api(): KitLock {
    const d = this.#d;
    const lock: KitLock = {
      name: d.name,
      capabilities: d.capabilities,
      acquire: (key, options) => this.acquire(key, options),
      tryAcquire: (key, options) => this.tryAcquire(key, options),
      inspect: (key, options) => this.inspect(key, options),
      list: (options) => this.list(options),
      forceRelease: (key, options) => this.forceRelease(key, options),
      stats: () => this.stats(),
      close: () => this.close(),
      [Symbol.asyncDispose]: () => this.close(),
    };
    return lock;
  }

  #assertOpen(): void {
    if (this.#closed) throw closedError(this.#pkg, `${this.#d.name} lock client`);
  }

  /** One backend call bounded by `ms` and the signals, without a controller per call (hot path). */
  #call<T>(
    what: string,
    ms: number,
    signals: readonly (AbortSignal | undefined)[],
    fn: () => Promise<T>,
  ): Promise<T> {
    return this.#settle(what, ms, signals[0], signals[1], Promise.resolve().then(fn));
  }

  /** Awaits a backend call already sent, bounded by `ms` and up to two signals; maps its failure. */
  async #settle<T>(
    what: string,
    ms: number,
    signal: AbortSignal | undefined,
    other: AbortSignal | undefined,
    call: Promise<T>,
  ): Promise<T> {
    const pkg = this.#pkg;
    const outcome = await raceDeadline(
      call,
      ms,
      this.#k.clock,
      other ? [signal, other] : signal ? [signal] : NO_SIGNALS,
    );
    if (outcome.ok) return outcome.value;
    if (outcome.reason === 'aborted') {
      const reason: unknown = outcome.signal?.reason;
      if (isSwitchyardError(reason, 'CLOSED')) throw reason;
      throw abortedError(pkg, outcome.signal, what);
    }
    if (outcome.reason === 'timeout') {
      throw new SwitchyardError(
        'BACKEND_UNAVAILABLE',
        `[${pkg}] ${what} got no reply within ${Math.round(ms)} ms`,
      );
    }
    if (isSwitchyardError(outcome.error)) throw outcome.error;
    throw new SwitchyardError(
      'BACKEND_UNAVAILABLE',
      `[${pkg}] ${what} failed: ${describeError(outcome.error)}`,
      {
        cause: outcome.error,
      },
    );
  }

  async acquire(key: string, options?: AcquireOptions): Promise<LockLease> {
    this.#assertOpen();
    const o = parseOptions(this.#pkg, options, this.#acquireSchema);
    assertKey(this.#pkg, 'key', key);
    const { signal } = o;
    if (signal?.aborted) throw abortedError(this.#pkg, signal, 'acquire');
    const ttl = o.ttl ?? this.#k.ttl;
    const wait = o.wait ?? this.#k.wait;
    const id = `${this.#idPrefix}${(++this.#idSeq).toString(36)}`;
    const owner = o.owner ?? currentLockOwner() ?? id;
    const reentryKey = `${key}\u0000${owner}`;
    if (this.#k.reentrant) {
      const entry = this.#reentry.get(reentryKey);
      if (entry?.lease.held) {
        entry.count++;
        return new ReentrantLease(entry.lease, () => this.#leave(reentryKey, entry));
      }
    }
    const request: LockRequest = { key, owner, id, ttl };
    const lease = await traced('switchyard:lock:acquire', { lock: this.#d.name, key }, () =>
      this.#acquire(request, wait, signal, o.autoRenew ?? true),
    );
    if (!this.#k.reentrant) return lease;
    const entry: Reentry = { lease, count: 1 };
    this.#reentry.set(reentryKey, entry);
    lease.on('lease:lost', () => {
      if (this.#reentry.get(reentryKey) === entry) this.#reentry.delete(reentryKey);
    });
    return new ReentrantLease(lease, () => this.#leave(reentryKey, entry));
  }

  async tryAcquire(key: string, options?: Omit<AcquireOptions, 'wait'>): Promise<LockLease | undefined> {
    if ((options as AcquireOptions | undefined)?.wait !== undefined) {
      throw new SwitchyardError(
        'INVALID_ARGUMENT',
        `[${this.#pkg}] wait is not an option of tryAcquire (it never waits)`,
        {
          field: 'wait',
        },
      );
    }
    try {
      return await this.acquire(key, { ...options, wait: 0 });
    } catch (error) {
      if (isSwitchyardError(error, 'LOCK_TIMEOUT')) return undefined;
      throw error;
    }
  }

  async #leave(reentryKey: string, entry: Reentry): Promise<boolean> {
    entry.count--;
    if (entry.count > 0) return entry.lease.held;
    if (this.#reentry.get(reentryKey) === entry) this.#reentry.delete(reentryKey);
    return entry.lease.release();
  }

  async #acquire(
    req: LockRequest,
    wait: number,
    signal: AbortSignal | undefined,
    autoRenew: boolean,
  ): Promise<ManagedLease> {
    const { clock, requestTimeout, pollInterval, unavailableAfter } = this.#k;
    const d = this.#d;
    const pkg = this.#pkg;
    const start = clock.monotonic();
    // The call's state lives in one object and the wait machinery (a signal for abort or close,
    // the key's local waiter count, the waiter) is set up only once the first attempt failed, so
    // an uncontended acquire is one backend call and creates no closures.
    const s: PendingAcquire = {
      req,
      signal,
      autoRenew,
      start,
      deadline: start + wait,
      waitSignal: undefined,
      teardown: undefined,
      waiter: undefined,
      queued: false,
      dirty: false,
    };
    let inflight: Promise<unknown> | undefined;
    let attempts = 0;
    let outages = 0;
    let failingSince: number | undefined;
    let lastError: unknown;
    this.#stats.waiting++;
    try {
      if (wait > 0 && d.lineUpLocally && (this.#waitingOn.get(req.key) ?? 0) > 0) {
        // No barging inside one process: line up behind this client's waiters for the key.
        const lease = await this.#waitForTurn(s, await this.#openWaiter(s), pollInterval);
        if (lease) return lease;
      }
      for (;;) {
        const sentAt = clock.monotonic();
        const left = s.deadline - sentAt;
        const queueFor = wait > 0 ? Math.max(1, left) : 0;
        const listeningBefore = s.waiter?.listening ?? false;
        let result: LockAttempt;
        try {
          s.dirty = true;
          const requeue = s.queued;
          if (queueFor > 0) s.queued = true;
          let call: Promise<LockAttempt>;
          try {
            call = d.attempt(req, { queueFor, requeue }, s.waitSignal ?? signal ?? NEVER);
          } catch (error) {
            call = Promise.reject(error);
          }
          inflight = call;
          const bound = wait > 0 ? Math.min(requestTimeout, Math.max(1, left)) : requestTimeout;
          result = await this.#settle('acquire', bound, signal, s.waitSignal, call);
          inflight = undefined;
          failingSince = undefined;
          lastError = undefined;
        } catch (error) {
          this.#checkAborted(s);
          if (!isSwitchyardError(error, 'BACKEND_UNAVAILABLE')) throw error;
          // An outage inside the wait budget is retried with backoff; it surfaces at the wait bound
          // (LOCK_TIMEOUT, the outage as cause) or after `unavailableAfter` (BACKEND_UNAVAILABLE).
          lastError = error;
          failingSince ??= clock.monotonic();
          if (wait === 0 || clock.monotonic() - failingSince >= unavailableAfter) throw error;
          const leftNow = s.deadline - clock.monotonic();
          if (leftNow <= 0) break;
          await sleep(Math.min(leftNow, Math.max(10, this.#backoff(outages++))), {
            clock,
            signal: this.#prepareWait(s),
            pkg,
            // Ref'd: a caller awaits this acquire, so the process must not exit under it (a
            // pending acquire behaves like a pending fetch).
          }).catch(() => this.#checkAborted(s));
          continue;
        }
        if (result.acquired) {
          s.dirty = false;
          const lease = this.#fromGrant(req, result, sentAt, autoRenew, start);
          if (lease) return lease;
          s.dirty = s.queued;
          if (s.deadline - clock.monotonic() <= 0) break;
          continue;
        }
        s.dirty = s.queued;
        if (attempts++ === 0) this.#stats.contended++;
        if (wait === 0 || s.deadline - clock.monotonic() <= 0) break;
        if (!s.waiter) {
          const opened = await this.#openWaiter(s);
          // A release may have happened before we listened: try again at once, unless the driver
          // has been listening since before the attempt was sent.
          if (!listeningBefore && !(opened.listening && opened.sinceAttempt)) continue;
        }
        const w = s.waiter as unknown as LockWaiter;
        const retryIn = result.retryIn ?? -1;
        let poll = retryIn >= 0 ? Math.min(retryIn + 1, pollInterval) : pollInterval;
        if (!w.listening) poll = Math.min(poll, UNSUBSCRIBED_POLL);
        const lease = await this.#waitForTurn(s, w, poll);
        if (lease) return lease;
      }
      this.#stats.timedOut++;
      throw lockTimeoutError(pkg, req.key, wait, lastError);
    } catch (error) {
      if (s.dirty) this.#abandon(req, inflight);
      if (isSwitchyardError(error, 'ABORTED', 'TIMEOUT')) this.#stats.aborted++;
      throw error;
    } finally {
      this.#stats.waiting--;
      s.waiter?.close();
      s.teardown?.();
    }
  }

  /** The signal a wait listens to (the caller's abort or close), created on first need. */
  #prepareWait(s: PendingAcquire): AbortSignal {
    if (s.waitSignal) return s.waitSignal;
    const { signal, req } = s;
    const controller = new AbortController();
    const onClose = (error: SwitchyardError) => controller.abort(error);
    const forward = () => controller.abort(signal?.reason);
    signal?.addEventListener('abort', forward, { once: true });
    this.#pending.add(onClose);
    this.#waitingOn.set(req.key, (this.#waitingOn.get(req.key) ?? 0) + 1);
    s.teardown = () => {
      signal?.removeEventListener('abort', forward);
      this.#pending.delete(onClose);
      const n = (this.#waitingOn.get(req.key) ?? 1) - 1;
      if (n <= 0) this.#waitingOn.delete(req.key);
      else this.#waitingOn.set(req.key, n);
    };
    s.waitSignal = controller.signal;
    return s.waitSignal;
  }

  #checkAborted(s: PendingAcquire): void {
    if (s.signal?.aborted) throw abortedError(this.#pkg, s.signal, 'acquire');
    if (s.waitSignal?.aborted) throw s.waitSignal.reason;
  }

  async #openWaiter(s: PendingAcquire): Promise<LockWaiter> {
    const ws = this.#prepareWait(s);
    const { clock, requestTimeout } = this.#k;
    const bound = Math.min(requestTimeout, Math.max(0, s.deadline - clock.monotonic()), 1000);
    s.waiter = await this.#call('subscribe', bound + 50, [ws], () => this.#d.waiter(s.req, bound));
    return s.waiter;
  }

  /** Waits for a notice, a hand-off or the poll; returns a lease when the backend handed us the lock. */
  async #waitForTurn(s: PendingAcquire, w: LockWaiter, poll: number): Promise<ManagedLease | undefined> {
    const { clock } = this.#k;
    const left = s.deadline - clock.monotonic();
    const grant = await w.wait(Math.min(left, Math.max(1, jitter(poll, 0.25))), this.#prepareWait(s));
    this.#checkAborted(s);
    if (!grant?.acquired) return undefined;
    s.dirty = false;
    const lease = this.#fromGrant(s.req, grant, clock.monotonic(), s.autoRenew, s.start);
    if (!lease) s.dirty = s.queued;
    return lease;
  }

  /**
   * A lease from a grant, or `undefined` when the grant's validity already ran out (the waiter was
   * frozen past it): that grant is given back in the background and never handed to the caller.
   */
  #fromGrant(
    req: LockRequest,
    grant: LockAttempt & { acquired: true },
    sentAt: number,
    autoRenew: boolean,
    start: number,
  ): ManagedLease | undefined {
    const { clock } = this.#k;
    const grantedAt = grant.grantedAt ?? sentAt;
    const validFor = Math.min(grant.validFor ?? req.ttl, req.ttl);
    const drift = this.#k.drift ?? Math.floor(req.ttl * 0.01) + 2;
    if (grantedAt + validFor - drift <= clock.monotonic()) {
      const p = this.#call('release', this.#k.requestTimeout, [], () =>
        this.#d.release(req, grant.token, NEVER, false),
      ).catch(() => false);
      this.#background.add(p);
      void p.finally(() => this.#background.delete(p));
      return undefined;
    }
    this.#stats.acquired++;
    this.#stats.recordWait(clock.monotonic() - start);
    const lease = new ManagedLease({
      pkg: this.#pkg,
      key: req.key,
      owner: req.owner,
      token: grant.token,
      ttl: req.ttl,
      acquiredAt: grantedAt + validFor - req.ttl,
      autoRenew,
      clock,
      drift,
      onListenerError: this.#k.onListenerError,
      driver: new LeaseDriverOf(this.#calls, req, grant.token),
      onEnd: this.#calls.ended,
    });
    this.#leases.set(lease, undefined);
    if (this.#d.track) this.#leases.set(lease, this.#d.track(req, lease));
    if (!autoRenew && validFor < req.ttl) lease.extend().catch(() => {}); // a failure marks the lease lost
    return lease;
  }

  #release(req: LockRequest, token: bigint, signal: AbortSignal | undefined): Promise<boolean> {
    return traced('switchyard:lock:release', { lock: this.#d.name, key: req.key }, () =>
      this.#releaseRetried(req, token, signal),
    );
  }

  async #releaseRetried(req: LockRequest, token: bigint, signal: AbortSignal | undefined): Promise<boolean> {
    try {
      return await this.#releaseOnce(req, token, signal, false);
    } catch (error) {
      if (signal?.aborted || !isSwitchyardError(error, 'BACKEND_UNAVAILABLE')) throw error;
      return this.#releaseOnce(req, token, signal, true); // the driver answers like the first call
    }
  }

  #releaseOnce(
    req: LockRequest,
    token: bigint,
    signal: AbortSignal | undefined,
    retry: boolean,
  ): Promise<boolean> {
    let call: Promise<boolean>;
    try {
      call = this.#d.release(req, token, signal ?? NEVER, retry);
    } catch (error) {
      call = Promise.reject(error);
    }
    return this.#settle('release', this.#k.requestTimeout, signal, undefined, call);
  }

  /** Undoes an abandoned acquire once the attempt in flight (if any) has settled. */
  #abandon(req: LockRequest, inflight: Promise<unknown> | undefined): void {
    const p = (inflight ?? Promise.resolve())
      .catch(() => {})
      .then(() => this.#call('abandon', this.#k.requestTimeout, [], () => this.#d.abandon(req, NEVER)))
      .catch(() => {});
    this.#background.add(p);
    void p.finally(() => this.#background.delete(p));
  }

  async inspect(key: string, options?: { signal?: AbortSignal }): Promise<LockInfo | undefined> {
    this.#assertOpen();
    const { signal } = parseOptions(this.#pkg, options, { signal: opt.signal() });
    assertKey(this.#pkg, 'key', key);
    return this.#admin('inspect', signal, (s) => this.#d.inspect(key, s));
  }

  async list(options?: { signal?: AbortSignal; limit?: number }): Promise<LockInfo[]> {
    this.#assertOpen();
    const o = parseOptions(this.#pkg, options, {
      signal: opt.signal(),
      limit: opt.integer(1, 100_000).default(10_000),
    });
    return this.#admin('list', o.signal, (s) => this.#d.list(o.limit, s));
  }

  async forceRelease(key: string, options?: { signal?: AbortSignal }): Promise<boolean> {
    this.#assertOpen();
    const { signal } = parseOptions(this.#pkg, options, { signal: opt.signal() });
    assertKey(this.#pkg, 'key', key);
    // The holders to tell are the ones held here before the call: a waiter of this client that the
    // release lets in while the call is in flight is the new holder, not a forced-out one.
    const before = [...this.#leases.keys()].filter((lease) => lease.key === key);
    const done = await this.#admin('forceRelease', signal, (s) => this.#d.forceRelease(key, s));
    if (done) {
      this.#stats.forceReleased++;
      const cause = new SwitchyardError(
        'LOCK_LOST',
        `[${this.#pkg}] lock "${key}" was force-released by an operator`,
      );
      for (const lease of before) lease.markLost(cause);
    }
    return done;
  }

  #admin<T>(what: string, signal: AbortSignal | undefined, fn: (s: AbortSignal) => Promise<T>): Promise<T> {
    return callBackend(
      what,
      { pkg: this.#pkg, clock: this.#k.clock, timeout: this.#k.requestTimeout, signal },
      fn,
    );
  }

  stats(): LockStats {
    this.#stats.held = this.#leases.size;
    return this.#stats.snapshot();
  }

  #closing: Promise<void> | undefined;

  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#closed = true;
      const error = closedError(this.#pkg, `${this.#d.name} lock client`);
      for (const stop of [...this.#pending]) stop(error);
      await Promise.all([...this.#leases.keys()].map((l) => l.release().catch(() => false)));
      await Promise.all([...this.#background]);
      await this.#d.close?.();
    })();
    return this.#closing;
  }
}

function describeError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

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
import { ManagedLease } from '../../lock/managed-lease.js';
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
  readonly #leases = new Set<ManagedLease>();
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
  async #call<T>(
    what: string,
    ms: number,
    signals: readonly (AbortSignal | undefined)[],
    fn: () => Promise<T>,
  ): Promise<T> {
    const pkg = this.#pkg;
    const outcome = await raceDeadline(Promise.resolve().then(fn), ms, this.#k.clock, signals);
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
    const deadline = start + wait;
    // Set up only once the first attempt failed, so an uncontended acquire is one backend call:
    // `waitSignal` fires on the caller's abort or on close, and the key's local waiter count.
    let waitSignal: AbortSignal | undefined;
    let teardown: (() => void) | undefined;
    let waiter: LockWaiter | undefined;
    let inflight: Promise<unknown> | undefined;
    let queued = false;
    let dirty = false;
    let attempts = 0;
    let outages = 0;
    let failingSince: number | undefined;
    let lastError: unknown;
    this.#stats.waiting++;

    const prepareWait = (): AbortSignal => {
      if (waitSignal) return waitSignal;
      const controller = new AbortController();
      const onClose = (error: SwitchyardError) => controller.abort(error);
      const forward = () => controller.abort(signal?.reason);
      signal?.addEventListener('abort', forward, { once: true });
      this.#pending.add(onClose);
      this.#waitingOn.set(req.key, (this.#waitingOn.get(req.key) ?? 0) + 1);
      teardown = () => {
        signal?.removeEventListener('abort', forward);
        this.#pending.delete(onClose);
        const n = (this.#waitingOn.get(req.key) ?? 1) - 1;
        if (n <= 0) this.#waitingOn.delete(req.key);
        else this.#waitingOn.set(req.key, n);
      };
      waitSignal = controller.signal;
      return waitSignal;
    };
    const checkAborted = () => {
      if (signal?.aborted) throw abortedError(pkg, signal, 'acquire');
      if (waitSignal?.aborted) throw waitSignal.reason;
    };
    const openWaiter = async (): Promise<LockWaiter> => {
      const ws = prepareWait();
      const bound = Math.min(requestTimeout, Math.max(0, deadline - clock.monotonic()), 1000);
      waiter = await this.#call('subscribe', bound + 50, [ws], () => d.waiter(req, bound));
      return waiter;
    };
    /** Waits for a notice, a hand-off or the poll; returns a lease when the backend handed us the lock. */
    const waitForTurn = async (w: LockWaiter, poll: number): Promise<ManagedLease | undefined> => {
      const left = deadline - clock.monotonic();
      const grant = await w.wait(Math.min(left, Math.max(1, jitter(poll, 0.25))), prepareWait());
      checkAborted();
      if (!grant?.acquired) return undefined;
      dirty = false;
      const lease = this.#fromGrant(req, grant, clock.monotonic(), autoRenew, start);
      if (!lease) dirty = queued;
      return lease;
    };

    try {
      if (wait > 0 && d.lineUpLocally && (this.#waitingOn.get(req.key) ?? 0) > 0) {
        // No barging inside one process: line up behind this client's waiters for the key.
        const lease = await waitForTurn(await openWaiter(), pollInterval);
        if (lease) return lease;
      }
      for (;;) {
        const sentAt = clock.monotonic();
        const left = deadline - sentAt;
        const queueFor = wait > 0 ? Math.max(1, left) : 0;
        const listeningBefore = waiter?.listening ?? false;
        let result: LockAttempt;
        try {
          dirty = true;
          const requeue = queued;
          if (queueFor > 0) queued = true;
          const call = Promise.resolve().then(() =>
            d.attempt(req, { queueFor, requeue }, waitSignal ?? signal ?? NEVER),
          );
          inflight = call;
          const bound = wait > 0 ? Math.min(requestTimeout, Math.max(1, left)) : requestTimeout;
          result = await this.#call('acquire', bound, [signal, waitSignal], () => call);
          inflight = undefined;
          failingSince = undefined;
          lastError = undefined;
        } catch (error) {
          checkAborted();
          if (!isSwitchyardError(error, 'BACKEND_UNAVAILABLE')) throw error;
          // An outage inside the wait budget is retried with backoff; it surfaces at the wait bound
          // (LOCK_TIMEOUT, the outage as cause) or after `unavailableAfter` (BACKEND_UNAVAILABLE).
          lastError = error;
          failingSince ??= clock.monotonic();
          if (wait === 0 || clock.monotonic() - failingSince >= unavailableAfter) throw error;
          const leftNow = deadline - clock.monotonic();
          if (leftNow <= 0) break;
          await sleep(Math.min(leftNow, Math.max(10, this.#backoff(outages++))), {
            clock,
            signal: prepareWait(),
            pkg,
            unref: true,
          }).catch(() => checkAborted());
          continue;
        }
        if (result.acquired) {
          dirty = false;
          const lease = this.#fromGrant(req, result, sentAt, autoRenew, start);
          if (lease) return lease;
          dirty = queued;
          if (deadline - clock.monotonic() <= 0) break;
          continue;
        }
        dirty = queued;
        if (attempts++ === 0) this.#stats.contended++;
        if (wait === 0 || deadline - clock.monotonic() <= 0) break;
        if (!waiter) {
          await openWaiter();
          // A release may have happened before we listened: try again at once.
          if (!listeningBefore) continue;
        }
        const w = waiter as unknown as LockWaiter;
        const retryIn = result.retryIn ?? -1;
        let poll = retryIn >= 0 ? Math.min(retryIn + 1, pollInterval) : pollInterval;
        if (!w.listening) poll = Math.min(poll, UNSUBSCRIBED_POLL);
        const lease = await waitForTurn(w, poll);
        if (lease) return lease;
      }
      this.#stats.timedOut++;
      throw lockTimeoutError(pkg, req.key, wait, lastError);
    } catch (error) {
      if (dirty) this.#abandon(req, inflight);
      if (isSwitchyardError(error, 'ABORTED', 'TIMEOUT')) this.#stats.aborted++;
      throw error;
    } finally {
      this.#stats.waiting--;
      waiter?.close();
      teardown?.();
    }
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
        this.#d.release(req, grant.token, NEVER),
      ).catch(() => false);
      this.#background.add(p);
      void p.finally(() => this.#background.delete(p));
      return undefined;
    }
    this.#stats.acquired++;
    this.#stats.recordWait(clock.monotonic() - start);
    let untrack: (() => void) | undefined;
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
      driver: {
        extend: (ttl, signal) =>
          this.#call('extend', this.#k.requestTimeout, [signal], () =>
            this.#d.extend(req, grant.token, ttl, signal ?? NEVER),
          ),
        release: (signal) => this.#release(req, grant.token, signal),
      },
      onEnd: (l, how) => {
        this.#leases.delete(l);
        untrack?.();
        if (how === 'lost') this.#stats.lost++;
        else this.#stats.released++;
      },
    });
    this.#leases.add(lease);
    untrack = this.#d.track?.(req, lease);
    if (!autoRenew && validFor < req.ttl) lease.extend().catch(() => {}); // a failure marks the lease lost
    return lease;
  }

  async #release(req: LockRequest, token: bigint, signal: AbortSignal | undefined): Promise<boolean> {
    return traced('switchyard:lock:release', { lock: this.#d.name, key: req.key }, async () => {
      const run = () =>
        this.#call('release', this.#k.requestTimeout, [signal], () =>
          this.#d.release(req, token, signal ?? NEVER),
        );
      try {
        return await run();
      } catch (error) {
        if (signal?.aborted || !isSwitchyardError(error, 'BACKEND_UNAVAILABLE')) throw error;
        return run(); // drivers make a retried release answer like the first one
      }
    });
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
    const done = await this.#admin('forceRelease', signal, (s) => this.#d.forceRelease(key, s));
    if (done) {
      this.#stats.forceReleased++;
      const cause = new SwitchyardError(
        'LOCK_LOST',
        `[${this.#pkg}] lock "${key}" was force-released by an operator`,
      );
      for (const lease of [...this.#leases]) if (lease.key === key) lease.markLost(cause);
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
      await Promise.all([...this.#leases].map((l) => l.release().catch(() => false)));
      await Promise.all([...this.#background]);
      await this.#d.close?.();
    })();
    return this.#closing;
  }
}

function describeError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

import type { LockLease, LockLeaseEvents } from '../contracts/lock.js';
import { abortedError, invalidArgument, isSwitchyardError, SwitchyardError } from '../errors.js';
import { type Clock, systemClock, type TimerHandle } from '../primitives/clock.js';
import { publishDiagnostic } from '../primitives/diagnostics.js';
import { Emitter, type ListenerErrorHandler, type Unsubscribe } from '../primitives/emitter.js';
import { assertDuration, assertNumberInRange } from '../validation.js';

/** The backend half of a lease: the two remote operations. Everything else lives here. */
export interface LeaseDriver {
  /** Resets the server-side TTL; resolves `false` if this owner no longer holds the lock. */
  extend(ttl: number, signal?: AbortSignal): Promise<boolean>;
  /** Releases; resolves `false` if this owner no longer held the lock. */
  release(signal?: AbortSignal): Promise<boolean>;
}

export interface ManagedLeaseOptions {
  pkg: string;
  key: string;
  owner: string;
  token: bigint;
  ttl: number;
  /** Monotonic time at which the acquire request was sent: validity is counted from here. */
  acquiredAt: number;
  autoRenew: boolean;
  driver: LeaseDriver;
  clock?: Clock;
  /** Safety margin subtracted from validity (clock drift, network), ms (default 1 % of ttl + 2). */
  drift?: number;
  /** Renewal period as a fraction of ttl (default 1/3). */
  renewRatio?: number;
  /** Called once when the lease ends (released or lost), for backend bookkeeping. */
  onEnd?: (lease: ManagedLease, how: 'released' | 'lost') => void;
  /**
   * Publish `lease:acquired|released|lost` on diagnostics channels (default true). Internal leases
   * that are not lock holds (an etcd session) pass false, so one acquire is one `lease:acquired`.
   */
  diagnostics?: boolean;
  /** Where a throwing `lease:lost` listener's error goes (default: a process warning). */
  onListenerError?: ListenerErrorHandler | undefined;
}

/**
 * A lock lease with the shared behaviour every backend needs: watchdog renewal at ttl/3 that is
 * event-loop aware (a renewal timer that fires after the lease's validity declares the lease lost
 * locally instead of renewing a lock someone else may hold), retry of failed renewals until validity
 * runs out, `signal` + `lease:lost` on loss, idempotent release that waits for an in-flight renewal
 * (so release and renewal never race into a false loss), and `await using` support.
 * Timers never throw into the host process.
 */
export class ManagedLease implements LockLease {
  readonly key: string;
  readonly owner: string;
  readonly token: bigint;
  readonly #pkg: string;
  readonly #driver: LeaseDriver;
  readonly #clock: Clock;
  readonly #controller = new AbortController();
  readonly #events: Emitter<LockLeaseEvents>;
  readonly #diagnostics: boolean;
  readonly #drift: number;
  readonly #renewRatio: number;
  readonly #onEnd: ManagedLeaseOptions['onEnd'];
  #ttl: number;
  #validUntil: number;
  #state: 'held' | 'released' | 'lost' = 'held';
  #timer: TimerHandle | undefined;
  #renewing: Promise<unknown> | undefined;
  #releasing: Promise<boolean> | undefined;
  #releaseStarted = false;
  readonly #autoRenew: boolean;

  constructor(options: ManagedLeaseOptions) {
    const pkg = options.pkg;
    assertDuration(pkg, 'ttl', options.ttl);
    if (typeof options.token !== 'bigint') throw invalidArgument(pkg, 'token', 'must be a bigint');
    if (typeof options.key !== 'string' || options.key === '')
      throw invalidArgument(pkg, 'key', 'must be a non-empty string');
    if (options.renewRatio !== undefined)
      assertNumberInRange(pkg, 'renewRatio', options.renewRatio, 0.05, 0.9);
    if (options.drift !== undefined)
      assertDuration(pkg, 'drift', options.drift, { allowZero: true, max: options.ttl });
    this.#diagnostics = options.diagnostics ?? true;
    this.#events = new Emitter<LockLeaseEvents>({
      diagnostics: this.#diagnostics,
      source: options.pkg,
      ...(options.onListenerError ? { onListenerError: options.onListenerError } : {}),
    });
    this.#pkg = options.pkg;
    this.key = options.key;
    this.owner = options.owner;
    this.token = options.token;
    this.#driver = options.driver;
    this.#clock = options.clock ?? systemClock;
    this.#ttl = options.ttl;
    this.#drift = options.drift ?? Math.floor(options.ttl * 0.01) + 2;
    this.#renewRatio = options.renewRatio ?? 1 / 3;
    this.#onEnd = options.onEnd;
    this.#autoRenew = options.autoRenew;
    this.#validUntil = options.acquiredAt + options.ttl - this.#drift;
    this.#schedule();
    if (this.#diagnostics)
      publishDiagnostic('lease:acquired', {
        key: this.key,
        owner: this.owner,
        token: this.token,
        ttl: this.#ttl,
        source: this.#pkg,
      });
  }

  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  get validUntil(): number {
    return this.#validUntil;
  }

  get held(): boolean {
    return this.#state === 'held' && this.#clock.monotonic() < this.#validUntil;
  }

  on<K extends keyof LockLeaseEvents>(
    event: K,
    listener: (payload: LockLeaseEvents[K]) => void,
  ): Unsubscribe {
    return this.#events.on(event, listener);
  }

  async extend(ttl?: number, options: { signal?: AbortSignal } = {}): Promise<void> {
    const next = ttl === undefined ? this.#ttl : assertDuration(this.#pkg, 'ttl', ttl);
    this.#assertHeld();
    await this.#renewing?.catch(() => {});
    this.#assertHeld();
    const started = this.#clock.monotonic();
    const op = this.#driver.extend(next, options.signal);
    this.#renewing = op;
    let ok: boolean;
    try {
      ok = await op;
    } catch (error) {
      if (options.signal?.aborted) throw abortedError(this.#pkg, options.signal, 'extend');
      throw error;
    } finally {
      if (this.#renewing === op) this.#renewing = undefined;
    }
    if (!ok) {
      this.markLost(
        new SwitchyardError('LOCK_LOST', `[${this.#pkg}] lock "${this.key}" is no longer held by this owner`),
      );
      this.#assertHeld();
    }
    if (this.#state !== 'held') this.#assertHeld();
    this.#ttl = next;
    this.#validUntil = started + next - this.#drift;
    this.#schedule();
  }

  release(options: { signal?: AbortSignal } = {}): Promise<boolean> {
    this.#releasing ??= this.#release(options.signal);
    return this.#releasing;
  }

  async #release(signal: AbortSignal | undefined): Promise<boolean> {
    this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    const wasHeld = this.#state === 'held';
    // From here on a renewal that comes back refused is not a loss: the holder is letting go anyway,
    // and the release below reports honestly whether the lock was still ours.
    this.#releaseStarted = true;
    await this.#renewing?.catch(() => {});
    if (this.#state === 'lost' || !wasHeld) {
      // Best effort, in the background: if the key is somehow still ours server-side, free it. The
      // answer is "was not held" at once, even while the backend is down (the call is bounded by
      // the driver's own deadline).
      this.#driver.release(signal).catch(() => false);
      return false;
    }
    this.#state = 'released';
    try {
      return await this.#driver.release(signal);
    } finally {
      if (this.#diagnostics)
        publishDiagnostic('lease:released', {
          key: this.key,
          owner: this.owner,
          token: this.token,
          source: this.#pkg,
        });
      this.#onEnd?.(this, 'released');
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.release();
  }

  /** Declares the lease lost (backends call this on lease expiry, forced release, session loss). */
  markLost(cause: unknown): void {
    if (this.#state !== 'held') return;
    this.#state = 'lost';
    this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    const error = isSwitchyardError(cause, 'LOCK_LOST')
      ? cause
      : new SwitchyardError('LOCK_LOST', `[${this.#pkg}] lock "${this.key}" was lost`, { cause });
    this.#controller.abort(error);
    this.#events.emit('lease:lost', { key: this.key, token: this.token, cause: error });
    this.#onEnd?.(this, 'lost');
  }

  #assertHeld(): void {
    if (this.#state === 'released') {
      throw new SwitchyardError('LOCK_LOST', `[${this.#pkg}] lock "${this.key}" was already released`);
    }
    if (this.#state === 'lost') throw this.#controller.signal.reason as SwitchyardError;
  }

  #schedule(): void {
    this.#clock.clearTimeout(this.#timer);
    if (this.#state !== 'held') return;
    const now = this.#clock.monotonic();
    if (!this.#autoRenew) {
      this.#timer = this.#clock.setTimeout(() => this.#expireIfStale(), Math.max(0, this.#validUntil - now), {
        unref: true,
      });
      return;
    }
    // Renew at ttl × ratio, but never later than half the validity left: a lease that starts with
    // less validity than its ttl (e.g. handed off with a short grant) is renewed, not declared lost.
    const delay = Math.max(1, Math.min(this.#ttl * this.#renewRatio, (this.#validUntil - now) / 2));
    this.#timer = this.#clock.setTimeout(() => this.#renew(), delay, { unref: true });
  }

  #expireIfStale(): void {
    if (this.#state !== 'held' || this.#renewing) return;
    if (this.#clock.monotonic() >= this.#validUntil) {
      this.markLost(
        new SwitchyardError('LOCK_LOST', `[${this.#pkg}] lock "${this.key}" expired (ttl ${this.#ttl} ms)`),
      );
    } else this.#schedule();
  }

  #expireWhileRenewing(): void {
    if (this.#state !== 'held' || this.#releaseStarted) return;
    this.markLost(
      new SwitchyardError(
        'LOCK_LOST',
        `[${this.#pkg}] lock "${this.key}" validity elapsed while a renewal was still pending`,
      ),
    );
  }

  #renew(): void {
    if (this.#state !== 'held' || this.#renewing || this.#releaseStarted) return;
    const started = this.#clock.monotonic();
    if (started >= this.#validUntil) {
      // The event loop was blocked past the lease's validity: the server TTL may have lapsed and
      // someone else may hold the lock. Do not renew blindly; declare the loss.
      this.markLost(
        new SwitchyardError(
          'LOCK_LOST',
          `[${this.#pkg}] lock "${this.key}" validity elapsed before renewal (event loop blocked or renewal failing)`,
        ),
      );
      return;
    }
    const op = this.#driver.extend(this.#ttl);
    this.#renewing = op;
    // A renewal call that hangs must not extend the lease past its validity: keep expiry armed.
    this.#clock.clearTimeout(this.#timer);
    this.#timer = this.#clock.setTimeout(
      () => this.#expireWhileRenewing(),
      Math.max(0, this.#validUntil - started),
      {
        unref: true,
      },
    );
    op.then(
      (ok) => {
        this.#renewing = undefined;
        if (this.#state !== 'held' || this.#releaseStarted) return;
        if (!ok) {
          this.markLost(
            new SwitchyardError(
              'LOCK_LOST',
              `[${this.#pkg}] lock "${this.key}" is no longer held (renewal refused)`,
            ),
          );
          return;
        }
        this.#validUntil = started + this.#ttl - this.#drift;
        this.#schedule();
      },
      (error: unknown) => {
        this.#renewing = undefined;
        if (this.#state !== 'held' || this.#releaseStarted) return;
        // Transient failure: retry soon, until validity runs out.
        const left = this.#validUntil - this.#clock.monotonic();
        if (left <= 0) {
          this.markLost(error);
          return;
        }
        const retryIn = Math.max(1, Math.min(left, Math.max(10, this.#ttl / 10)));
        this.#clock.clearTimeout(this.#timer);
        this.#timer = this.#clock.setTimeout(() => this.#renew(), retryIn, { unref: true });
      },
    );
  }
}

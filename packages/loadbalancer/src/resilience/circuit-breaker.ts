import { invalidArgument } from '@switchyard/core';
import { PKG } from '../weights/prepared-set.js';
import { RollingWindow } from './rolling-window.js';

export type BreakerState = 'closed' | 'open' | 'half-open';

export interface CircuitBreakerOptions {
  /** Open after this many consecutive failures (0 disables the trigger). Default 5. */
  consecutiveFailures?: number;
  /** Open when failures / requests in the window reach this ratio (0 < r <= 1; 1 = all failing). Default 0.5. */
  failureRate?: number;
  /** Requests needed in the window before the failure rate counts. Default 20. */
  minimumRequests?: number;
  /** Sliding window for the failure rate, ms. Default 10 000. */
  window?: number;
  /** First open period, ms; doubles on every re-open from half-open up to `maxOpenDuration`. Default 5 000. */
  openDuration?: number;
  /** Cap of the open period, ms. Default 60 000. */
  maxOpenDuration?: number;
  /** Probes admitted concurrently in half-open; this many successes close the breaker. Default 1. */
  halfOpenProbes?: number;
}

export type ResolvedBreakerOptions = Required<CircuitBreakerOptions>;

export function resolveBreakerOptions(field: string, o: CircuitBreakerOptions = {}): ResolvedBreakerOptions {
  const int = (name: keyof CircuitBreakerOptions, v: unknown, min: number, max: number) => {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max)
      throw invalidArgument(
        PKG,
        `${field}.${name}`,
        `must be an integer in ${min}..${max}, got ${String(v)}`,
      );
    return v;
  };
  const ms = (name: keyof CircuitBreakerOptions, v: unknown) => {
    if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0 || v > 30 * 24 * 3600e3)
      throw invalidArgument(PKG, `${field}.${name}`, `must be a duration in ms > 0, got ${String(v)}`);
    return v;
  };
  const failureRate = o.failureRate ?? 0.5;
  if (typeof failureRate !== 'number' || !(failureRate > 0) || failureRate > 1)
    throw invalidArgument(
      PKG,
      `${field}.failureRate`,
      `must be a number in (0, 1], got ${String(failureRate)}`,
    );
  const resolved = {
    consecutiveFailures: int('consecutiveFailures', o.consecutiveFailures ?? 5, 0, 1e9),
    failureRate,
    minimumRequests: int('minimumRequests', o.minimumRequests ?? 20, 1, 1e9),
    window: ms('window', o.window ?? 10_000),
    openDuration: ms('openDuration', o.openDuration ?? 5_000),
    maxOpenDuration: ms('maxOpenDuration', o.maxOpenDuration ?? 60_000),
    halfOpenProbes: int('halfOpenProbes', o.halfOpenProbes ?? 1, 1, 1e6),
  };
  if (resolved.maxOpenDuration < resolved.openDuration)
    throw invalidArgument(PKG, `${field}.maxOpenDuration`, 'must be >= openDuration');
  return resolved;
}

const TOTAL = 0;
const FAILED = 1;

/**
 * A time-based circuit breaker (no timers: transitions happen when it is asked, from the caller's
 * monotonic clock). closed → open on consecutive failures or on the failure rate in a sliding
 * window; open → half-open after the open period; half-open admits at most `halfOpenProbes`
 * concurrent probes, closes after that many successes, re-opens (with a doubled period) on any
 * probe failure.
 */
export class CircuitBreaker {
  readonly options: ResolvedBreakerOptions;
  #state: BreakerState = 'closed';
  #openUntil = 0;
  #openFor: number;
  #consecutive = 0;
  #probes = 0;
  #probeSuccesses = 0;
  readonly #window: RollingWindow;
  readonly #onChange: ((state: BreakerState) => void) | undefined;

  constructor(options: ResolvedBreakerOptions, onChange?: (state: BreakerState) => void) {
    this.options = options;
    this.#openFor = options.openDuration;
    this.#window = new RollingWindow(options.window, 10, 2);
    this.#onChange = onChange;
  }

  get state(): BreakerState {
    return this.#state;
  }

  /** Probes currently admitted in half-open. */
  get probesInFlight(): number {
    return this.#probes;
  }

  /** When an open breaker turns half-open (monotonic ms), else Infinity. */
  get nextTransition(): number {
    return this.#state === 'open' ? this.#openUntil : Number.POSITIVE_INFINITY;
  }

  /** Applies a due open → half-open transition. */
  refresh(now: number): void {
    if (this.#state === 'open' && now >= this.#openUntil) {
      this.#probes = 0;
      this.#probeSuccesses = 0;
      this.#set('half-open');
    }
  }

  /** Whether a request may go through now (does not reserve a probe). */
  canPass(now: number): boolean {
    this.refresh(now);
    if (this.#state === 'closed') return true;
    if (this.#state === 'open') return false;
    return this.#probes < this.options.halfOpenProbes;
  }

  /**
   * Admits a request: returns false if not allowed; otherwise true and, in half-open, reserves one
   * probe. `isProbe()` after a true return says whether this admission was a probe.
   */
  tryAcquire(now: number): boolean {
    if (!this.canPass(now)) return false;
    if (this.#state === 'half-open') this.#probes++;
    return true;
  }

  /** Releases a probe without an outcome (the request was cancelled). */
  releaseProbe(): void {
    if (this.#state === 'half-open' && this.#probes > 0) this.#probes--;
  }

  /** Records the outcome of an admitted request. `probe`: it was admitted in half-open. */
  record(ok: boolean, now: number, probe: boolean): void {
    if (this.#state === 'half-open') {
      if (!probe) return;
      if (this.#probes > 0) this.#probes--;
      if (!ok) {
        this.#openFor = Math.min(this.#openFor * 2, this.options.maxOpenDuration);
        this.#open(now);
        return;
      }
      this.#probeSuccesses++;
      if (this.#probeSuccesses >= this.options.halfOpenProbes) {
        this.#openFor = this.options.openDuration;
        this.#consecutive = 0;
        this.#window.reset();
        this.#set('closed');
      }
      return;
    }
    if (this.#state === 'open') return;
    this.#window.add(TOTAL, 1, now);
    if (ok) {
      this.#consecutive = 0;
      return;
    }
    this.#window.add(FAILED, 1, now);
    this.#consecutive++;
    const { consecutiveFailures, failureRate, minimumRequests } = this.options;
    const total = this.#window.sum(TOTAL, now);
    if (
      (consecutiveFailures > 0 && this.#consecutive >= consecutiveFailures) ||
      (total >= minimumRequests && this.#window.sum(FAILED, now) / total >= failureRate)
    ) {
      this.#open(now);
    }
  }

  #open(now: number): void {
    this.#openUntil = now + this.#openFor;
    this.#probes = 0;
    this.#probeSuccesses = 0;
    this.#consecutive = 0;
    this.#set('open');
  }

  #set(state: BreakerState): void {
    if (this.#state === state) return;
    this.#state = state;
    this.#onChange?.(state);
  }
}

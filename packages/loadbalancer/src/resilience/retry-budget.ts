import type { Clock } from '@switchyard/core';
import { invalidArgument, systemClock } from '@switchyard/core';
import { PKG } from '../weights/prepared-set.js';
import { RollingWindow } from './rolling-window.js';

export interface RetryBudgetOptions {
  /**
   * `tokens` (Finagle): retries in the window <= ratio × requests in the window + minRetriesPerSecond × window.
   * `concurrency` (Envoy): retries in flight < max(minConcurrency, ratio × requests in flight).
   * Default `tokens`.
   */
  mode?: 'tokens' | 'concurrency';
  /** Retries allowed per request. Default 0.2. */
  ratio?: number;
  /** Floor for low traffic in `tokens` mode. Default 10. */
  minRetriesPerSecond?: number;
  /** How long a deposit lives in `tokens` mode, ms. Default 10 000. */
  window?: number;
  /** Floor in `concurrency` mode. Default 3. */
  minConcurrency?: number;
  clock?: Clock;
  /** Called when `tryRetry` refuses (the balancer turns it into `balancer:budget-exhausted`). */
  onRefused?: (kind: 'retry' | 'hedge') => void;
}

const REQUESTS = 0;
const RETRIES = 1;

/** A retry budget shared by every request to one service, so retries cannot multiply an outage. */
export class RetryBudget {
  readonly mode: 'tokens' | 'concurrency';
  readonly #ratio: number;
  readonly #reserve: number;
  readonly #minConcurrency: number;
  readonly #window: RollingWindow;
  readonly #clock: Clock;
  readonly #onRefused: ((kind: 'retry' | 'hedge') => void) | undefined;
  #activeRequests = 0;
  #activeRetries = 0;

  constructor(options: RetryBudgetOptions = {}) {
    const mode = options.mode ?? 'tokens';
    if (mode !== 'tokens' && mode !== 'concurrency')
      throw invalidArgument(
        PKG,
        'retryBudget.mode',
        `must be "tokens" or "concurrency", got ${String(mode)}`,
      );
    this.mode = mode;
    this.#ratio = num('ratio', options.ratio ?? 0.2, 0, 1000);
    const minPerSec = num('minRetriesPerSecond', options.minRetriesPerSecond ?? 10, 0, 1e9);
    const window = num('window', options.window ?? 10_000, 1, 3600e3);
    this.#minConcurrency = num('minConcurrency', options.minConcurrency ?? 3, 0, 1e9);
    this.#reserve = (minPerSec * window) / 1000;
    this.#window = new RollingWindow(window, 10, 2);
    this.#clock = options.clock ?? systemClock;
    if (options.onRefused !== undefined && typeof options.onRefused !== 'function')
      throw invalidArgument(PKG, 'retryBudget.onRefused', 'must be a function');
    this.#onRefused = options.onRefused;
  }

  /** Call once per original request; returns a function to call when it finishes. */
  onRequest(): () => void {
    this.#window.add(REQUESTS, 1, this.#clock.monotonic());
    this.#activeRequests++;
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.#activeRequests--;
    };
  }

  /**
   * Withdraws one retry (or hedge: `kind` only labels the refusal); returns a release function, or
   * undefined when the budget is exhausted.
   */
  tryRetry(kind: 'retry' | 'hedge' = 'retry'): (() => void) | undefined {
    const now = this.#clock.monotonic();
    const refused =
      this.mode === 'tokens'
        ? this.#window.sum(RETRIES, now) + 1 > this.#ratio * this.#window.sum(REQUESTS, now) + this.#reserve
        : this.#activeRetries >= Math.max(this.#minConcurrency, this.#ratio * this.#activeRequests);
    if (refused) {
      this.#onRefused?.(kind);
      return undefined;
    }
    this.#window.add(RETRIES, 1, now);
    this.#activeRetries++;
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.#activeRetries--;
    };
  }

  get activeRetries(): number {
    return this.#activeRetries;
  }
}

function num(name: string, v: unknown, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max)
    throw invalidArgument(PKG, `retryBudget.${name}`, `must be a number in ${min}..${max}, got ${String(v)}`);
  return v;
}

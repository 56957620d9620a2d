import { invalidArgument } from '@switchyard/core';
import { PKG } from '../weights/prepared-set.js';
import { RollingWindow } from './rolling-window.js';

export interface AdaptiveThrottleOptions {
  /** Multiplier K: the backend may reject up to (K − 1)/K of requests before the client sheds. Default 1.5. */
  k?: number;
  /** Window, ms. Default 10 000 (40 buckets, as go-zero). */
  window?: number;
  /** Requests always let through per window before shedding starts. Default 5. */
  protection?: number;
}

const REQUESTS = 0;
const ACCEPTS = 1;

/**
 * Client-side adaptive throttling (Google SRE book, "Handling Overload"): reject locally with
 * probability max(0, (requests − protection − K × accepts) / (requests + 1)).
 */
export class AdaptiveThrottle {
  readonly #k: number;
  readonly #protection: number;
  readonly #window: RollingWindow;

  constructor(options: AdaptiveThrottleOptions = {}) {
    const k = options.k ?? 1.5;
    if (typeof k !== 'number' || !(k >= 1) || k > 100)
      throw invalidArgument(PKG, 'adaptiveThrottle.k', `must be a number in 1..100, got ${String(k)}`);
    const window = options.window ?? 10_000;
    if (typeof window !== 'number' || !(window > 0) || window > 3600e3)
      throw invalidArgument(
        PKG,
        'adaptiveThrottle.window',
        `must be a duration in ms > 0, got ${String(window)}`,
      );
    const protection = options.protection ?? 5;
    if (typeof protection !== 'number' || !(protection >= 0))
      throw invalidArgument(
        PKG,
        'adaptiveThrottle.protection',
        `must be a number >= 0, got ${String(protection)}`,
      );
    this.#k = k;
    this.#protection = protection;
    this.#window = new RollingWindow(window, 40, 2);
  }

  /** Current local rejection probability. */
  rejectProbability(now: number): number {
    const requests = this.#window.sum(REQUESTS, now);
    const accepts = this.#window.sum(ACCEPTS, now);
    return Math.max(0, (requests - this.#protection - this.#k * accepts) / (requests + 1));
  }

  /** Counts a request and decides whether it may be sent (`u` uniform in [0, 1)). */
  allow(now: number, u: number): boolean {
    const p = this.rejectProbability(now);
    this.#window.add(REQUESTS, 1, now);
    return !(u < p);
  }

  /** Records that the backend accepted (answered without an overload/availability error). */
  accepted(now: number): void {
    this.#window.add(ACCEPTS, 1, now);
  }
}

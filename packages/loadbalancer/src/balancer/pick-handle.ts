import type { PickOutcome, ServiceInstance } from '@switchyard/core';
import { invalidArgument } from '@switchyard/core';
import { PKG } from '../weights/prepared-set.js';

/**
 * The result of `balancer.pick()`: the chosen instance and a one-shot `report` that feeds the
 * shared statistics (in-flight count, peak EWMA, breakers, ejection). Call `report` (or `cancel`
 * when the request was abandoned without an outcome) exactly once; later calls are ignored.
 */
export class PickHandle {
  readonly instance: ServiceInstance;
  /** Monotonic ms when the pick happened. */
  readonly pickedAt: number;
  readonly #done: (ok: boolean, latency: number | undefined, cancelled: boolean) => void;
  #reported = false;

  constructor(
    instance: ServiceInstance,
    pickedAt: number,
    done: (ok: boolean, latency: number | undefined, cancelled: boolean) => void,
  ) {
    this.instance = instance;
    this.pickedAt = pickedAt;
    this.#done = done;
  }

  /** Whether report or cancel was called. */
  get settled(): boolean {
    return this.#reported;
  }

  /**
   * Reports the outcome: a `PickOutcome`, or a boolean plus an optional latency in ms (measured
   * by the caller; the balancer clock measures it otherwise).
   */
  report(outcome: PickOutcome | boolean, latency?: number): void {
    const ok = typeof outcome === 'boolean' ? outcome : outcome?.ok;
    if (typeof ok !== 'boolean')
      throw invalidArgument(PKG, 'outcome', 'must be a boolean or { ok, latency }');
    const ms = typeof outcome === 'boolean' ? latency : outcome.latency;
    if (ms !== undefined && (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0))
      throw invalidArgument(PKG, 'outcome.latency', `must be a finite number >= 0, got ${String(ms)}`);
    if (this.#reported) return;
    this.#reported = true;
    this.#done(ok, ms, false);
  }

  /** Releases the pick without an outcome (request abandoned, e.g. the losing hedge). */
  cancel(): void {
    if (this.#reported) return;
    this.#reported = true;
    this.#done(true, undefined, true);
  }
}

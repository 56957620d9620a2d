import type { ServiceInstance } from '@switchyard/core';
import {
  type BreakerState,
  CircuitBreaker,
  type ResolvedBreakerOptions,
} from '../resilience/circuit-breaker.js';

export interface ResolvedOutlierOptions {
  consecutiveFailures: number;
  baseEjectionTime: number;
  maxEjectionTime: number;
  maxEjectionPercent: number;
}

export interface ResolvedSlowStartOptions {
  window: number;
  aggression: number;
  minWeightPercent: number;
}

/** Read-only view of one endpoint's shared statistics. */
export interface EndpointStatsView {
  readonly id: string;
  readonly inFlight: number;
  /** Peak-EWMA latency in ms (decayed to now). */
  readonly latency: number;
  readonly requests: number;
  readonly failures: number;
  readonly breaker: BreakerState | 'disabled';
  readonly ejected: boolean;
  readonly ejections: number;
  /** Slow-start weight factor in (0, 1]. */
  readonly weightFactor: number;
  readonly eligible: boolean;
}

/**
 * Everything the balancer knows about one endpoint, shared by the picker (load, latency,
 * eligibility), the breaker, outlier ejection and slow start: plain counters, no timers.
 */
export class EndpointState {
  readonly id: string;
  instance: ServiceInstance;
  inFlight = 0;
  requests = 0;
  failures = 0;
  eligible = true;
  readonly breaker: CircuitBreaker | undefined;
  consecutiveFailures = 0;
  ejections = 0;
  ejectedUntil = 0;
  returnedAt = Number.NEGATIVE_INFINITY;
  rampFrom = Number.NEGATIVE_INFINITY;
  #ewma = 0;
  #stamp = 0;

  constructor(
    instance: ServiceInstance,
    breaker: ResolvedBreakerOptions | undefined,
    onBreakerChange: (state: EndpointState, s: BreakerState) => void,
  ) {
    this.id = instance.id;
    this.instance = instance;
    this.breaker = breaker ? new CircuitBreaker(breaker, (s) => onBreakerChange(this, s)) : undefined;
  }

  /** Finagle peak EWMA: jumps to a higher sample, decays towards lower ones with time constant `tau`. */
  observeLatency(rtt: number, now: number, tau: number): void {
    const td = Math.max(now - this.#stamp, 0);
    this.#stamp = now;
    if (rtt > this.#ewma) this.#ewma = rtt;
    else {
      const w = Math.exp(-td / tau);
      this.#ewma = this.#ewma * w + rtt * (1 - w);
    }
  }

  /** Latency decayed to `now` (an idle slow endpoint slowly looks cheaper again). */
  latency(now: number, tau: number): number {
    if (this.#ewma === 0) return 0;
    const td = now - this.#stamp;
    return td <= 0 ? this.#ewma : this.#ewma * Math.exp(-td / tau);
  }

  /** Slow-start factor: max(min%, (elapsed / window)^(1 / aggression)), 1 outside a ramp. */
  weightFactor(now: number, slow: ResolvedSlowStartOptions | undefined): number {
    if (!slow) return 1;
    const elapsed = now - this.rampFrom;
    if (elapsed >= slow.window) return 1;
    const f = Math.max(0, elapsed / slow.window) ** (1 / slow.aggression);
    return Math.max(slow.minWeightPercent / 100, f);
  }

  isEjected(): boolean {
    return this.ejectedUntil > 0;
  }

  view(now: number, tau: number, slow: ResolvedSlowStartOptions | undefined): EndpointStatsView {
    return {
      id: this.id,
      inFlight: this.inFlight,
      latency: this.latency(now, tau),
      requests: this.requests,
      failures: this.failures,
      breaker: this.breaker ? this.breaker.state : 'disabled',
      ejected: this.isEjected(),
      ejections: this.ejections,
      weightFactor: this.weightFactor(now, slow),
      eligible: this.eligible,
    };
  }
}

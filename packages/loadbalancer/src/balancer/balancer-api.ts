import type { PickContext, ServiceInstance, Unsubscribe } from '@switchyard/core';
import type { BreakerState } from '../resilience/circuit-breaker.js';
import type { LatencyTracker } from '../resilience/latency-tracker.js';
import type { RetryBudget } from '../resilience/retry-budget.js';
import type { EndpointStatsView } from './endpoint-state.js';
import type { PickHandle } from './pick-handle.js';

/**
 * The balancer's events, also published on `node:diagnostics_channel` as `switchyard:<event>`
 * (`switchyard:balancer:ejected`, …) and mapped to metrics by `@switchyard/core/otel`.
 */
export interface BalancerEvents {
  /** The routable set changed (one event per plan rebuild). */
  'balancer:instances-changed': { service: string; instances: readonly ServiceInstance[] };
  /** A breaker changed state; `id` is undefined for the service breaker. */
  'balancer:breaker-changed': { service: string; id: string | undefined; state: BreakerState };
  'balancer:ejected': { service: string; id: string; duration: number };
  'balancer:returned': { service: string; id: string };
  /** The discovery watch failed or ended; it is re-opened after a backoff. */
  'balancer:watch-error': { service: string; error: unknown };
  /** The retry budget refused a retry or a hedge (the last answer or error is returned). */
  'balancer:budget-exhausted': { service: string; kind: 'retry' | 'hedge' };
}

export interface Balancer extends AsyncDisposable {
  readonly service: string;
  /** Resolves once the first discovery snapshot arrived. */
  ready(options?: { signal?: AbortSignal }): Promise<void>;
  /**
   * Picks an instance; throws NO_AVAILABLE_INSTANCE, CIRCUIT_OPEN (service breaker/throttle) or CLOSED.
   * `avoid`: instance ids already tried by this request (retries and hedges re-draw to avoid them).
   */
  pick(context?: PickContext, avoid?: ReadonlySet<string>): PickHandle;
  /** Instances currently routable (what discovery delivered, pull-outs already applied there). */
  instances(): readonly ServiceInstance[];
  /** Shared per-endpoint statistics. */
  stats(): EndpointStatsView[];
  /** The service's retry budget (shared by every caller retrying against it). */
  readonly retryBudget: RetryBudget | undefined;
  /** Recent latencies of the service (for hedging). */
  readonly latency: LatencyTracker;
  on<K extends keyof BalancerEvents>(event: K, listener: (payload: BalancerEvents[K]) => void): Unsubscribe;
  close(): Promise<void>;
}

import type { ServiceInstance } from './discovery.js';

/** Per-request input to a picker. */
export interface PickContext {
  /** Affinity key (user id, session, shard key) for hash-based and sticky pickers. */
  key?: string;
  /** Precomputed 32-bit hash of the key; pickers compute it when absent. */
  hash?: number;
  /** Caller locality. */
  zone?: string;
  region?: string;
  /** Caller address, matched against traffic-rule canary allow-lists. */
  callerIp?: string;
}

/**
 * A choice over one snapshot of instances. `pick` is pure with respect to the snapshot,
 * synchronous and allocation-free on the hot path; it returns `undefined` only when no instance
 * is eligible. `isEligible` lets breakers/ejection skip instances without a rebuild.
 */
export interface Picker<T extends ServiceInstance = ServiceInstance> {
  readonly name: string;
  readonly size: number;
  pick(context?: PickContext): T | undefined;
}

export interface PickerBuildOptions<T extends ServiceInstance = ServiceInstance> {
  /**
   * Return false to skip an instance (open circuit, ejected); consulted at pick time.
   * `index` is the instance's position in the array the picker was built from.
   */
  isEligible?: (instance: T, index: number) => boolean;
  /** Effective weight (slow start, locality), read at build time; defaults to `instance.weight`. */
  weightOf?: (instance: T, index: number) => number;
  /** Current load (in-flight requests); least-request and bounded-load pickers read it at pick time. */
  loadOf?: (instance: T, index: number) => number;
  /** Latency cost in ms (peak EWMA); latency-aware pickers read it at pick time. */
  latencyOf?: (instance: T, index: number) => number;
  /** Random source in [0, 1) for randomised pickers. */
  random?: () => number;
}

/** Builds a picker for a snapshot; called again only when the instance set changes. */
export type PickerBuilder<T extends ServiceInstance = ServiceInstance> = (
  instances: readonly T[],
  options?: PickerBuildOptions<T>,
) => Picker<T>;

/** What a caller reports after using a picked instance; feeds breakers, EWMA, least-request. */
export interface PickOutcome {
  readonly ok: boolean;
  /** Milliseconds from send to response. */
  readonly latency: number;
  /** Classified failure kind, when not ok. */
  readonly error?: 'timeout' | 'connect' | 'status' | 'other';
}

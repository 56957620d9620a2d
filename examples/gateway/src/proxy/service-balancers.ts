import type { PickerBuilder, TrafficRulesSource } from '@switchyard/core';
import {
  type Balancer,
  type BalancerOptions,
  createBalancer,
  leastRequestPicker,
  maglevPicker,
  peakEwmaPicker,
  randomPicker,
  ringHashPicker,
  roundRobinPicker,
  type WatchSource,
} from '@switchyard/loadbalancer';
import type { PickerName, RouteConfig } from '../routes/route-config.js';

export type BalancerTuning = Pick<
  BalancerOptions,
  | 'breaker'
  | 'serviceBreaker'
  | 'outlierDetection'
  | 'retryBudget'
  | 'slowStart'
  | 'locality'
  | 'panicThreshold'
  | 'clock'
>;

function pickerFor(name: PickerName | undefined): PickerBuilder {
  switch (name) {
    case 'round-robin':
      return roundRobinPicker();
    case 'peak-ewma':
      return peakEwmaPicker();
    case 'ring-hash':
      return ringHashPicker();
    case 'maglev':
      return maglevPicker();
    case 'random':
      return randomPicker();
    default:
      return leastRequestPicker();
  }
}

/** The balancer a route needs: one per (service, picker, sticky), shared by routes that agree. */
function keyOf(route: RouteConfig): string {
  return `${route.service}|${route.picker ?? 'least-request'}|${route.sticky ? 'sticky' : ''}`;
}

/**
 * Balancers for the services the routes name, created when a route first needs one and closed
 * when no route needs it any more (after a route reload).
 */
export class ServiceBalancers {
  readonly #byKey = new Map<string, Balancer>();
  readonly #discovery: WatchSource;
  readonly #rules: TrafficRulesSource | undefined;
  readonly #tuning: BalancerTuning;
  readonly #onCreate: (balancer: Balancer) => void;

  constructor(
    discovery: WatchSource,
    rules: TrafficRulesSource | undefined,
    tuning: BalancerTuning,
    onCreate: (b: Balancer) => void,
  ) {
    this.#discovery = discovery;
    this.#rules = rules;
    this.#tuning = tuning;
    this.#onCreate = onCreate;
  }

  for(route: RouteConfig): Balancer {
    const key = keyOf(route);
    let b = this.#byKey.get(key);
    if (!b) {
      b = createBalancer({
        ...this.#tuning,
        discovery: this.#discovery,
        service: route.service,
        picker: pickerFor(route.picker),
        ...(route.sticky ? { sticky: { maxKeys: 200_000 } } : {}),
        ...(this.#rules ? { rules: this.#rules } : {}),
      });
      this.#byKey.set(key, b);
      this.#onCreate(b);
    }
    return b;
  }

  all(): IterableIterator<Balancer> {
    return this.#byKey.values();
  }

  /** Closes balancers that none of `routes` uses. */
  async retain(routes: readonly RouteConfig[]): Promise<void> {
    const keep = new Set(routes.map(keyOf));
    const gone: Balancer[] = [];
    for (const [key, b] of this.#byKey) {
      if (!keep.has(key)) {
        this.#byKey.delete(key);
        gone.push(b);
      }
    }
    await Promise.all(gone.map((b) => b.close()));
  }

  async close(): Promise<void> {
    const all = [...this.#byKey.values()];
    this.#byKey.clear();
    await Promise.all(all.map((b) => b.close()));
  }
}

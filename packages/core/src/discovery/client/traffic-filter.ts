import type { ServiceInstance } from '../../contracts/discovery.js';
import type { PullOutRules } from '../../contracts/traffic-rules.js';

/**
 * Operator pull-outs (Ctrip Artemis instance / server / zone operations) compiled into a fast
 * predicate. Pull-in is the removal of the rule. Route groups and canary rules are not filters:
 * the load balancer applies them.
 */
export class TrafficFilter {
  readonly #instances: Set<string>;
  readonly #servers: Set<string>;
  /** `service\u0000zone`, or `\u0000zone` for every service. */
  readonly #zones: Set<string>;

  constructor(rules: PullOutRules | undefined) {
    this.#instances = new Set((rules?.pulledInstances ?? []).map((r) => `${r.service}\u0000${r.id}`));
    this.#servers = new Set(rules?.pulledServers ?? []);
    this.#zones = new Set((rules?.pulledZones ?? []).map((z) => `${z.service ?? ''}\u0000${z.zone}`));
  }

  get empty(): boolean {
    return this.#instances.size === 0 && this.#servers.size === 0 && this.#zones.size === 0;
  }

  /** Why an instance is out of rotation, or undefined when it is in. */
  pulledBy(instance: ServiceInstance): 'instance' | 'server' | 'zone' | undefined {
    if (this.#instances.has(`${instance.service}\u0000${instance.id}`)) return 'instance';
    if (this.#servers.has(instance.address)) return 'server';
    if (
      instance.zone !== undefined &&
      (this.#zones.has(`\u0000${instance.zone}`) ||
        this.#zones.has(`${instance.service}\u0000${instance.zone}`))
    ) {
      return 'zone';
    }
    return undefined;
  }

  /** The instances still in rotation (the same array when nothing is pulled). */
  apply(instances: readonly ServiceInstance[]): readonly ServiceInstance[] {
    if (this.empty) return instances;
    return instances.filter((i) => this.pulledBy(i) === undefined);
  }
}

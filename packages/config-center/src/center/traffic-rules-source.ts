import {
  invalidArgument,
  type TrafficRules,
  type TrafficRulesSource,
  type Unsubscribe,
  validateTrafficRules,
} from '@switchyard/core';
import type { LiveNamespace } from './live-namespace.js';
import type { StandardResult, StandardSchemaV1 } from './standard-schema.js';

const RULE_ITEMS = ['pulledInstances', 'pulledServers', 'pulledZones', 'routes'] as const;

/**
 * A Standard Schema for a traffic-rules namespace (items `pulledInstances`, `pulledServers`,
 * `pulledZones`, `routes`), checked by core's `validateTrafficRules`: give it to the admin and the
 * center so that a bad rule set is refused before it reaches any load balancer.
 */
export const trafficRulesSchema: StandardSchemaV1<unknown, TrafficRules> = {
  '~standard': {
    version: 1,
    vendor: 'switchyard',
    validate(value): StandardResult<TrafficRules> {
      try {
        const items = (value ?? {}) as Record<string, unknown>;
        const unknown = Object.keys(items).filter((k) => !(RULE_ITEMS as readonly string[]).includes(k));
        if (unknown.length > 0)
          return { issues: [{ message: 'is not a traffic rule item', path: [unknown[0]!] }] };
        return { value: validateTrafficRules(items as TrafficRules) };
      } catch (error) {
        return { issues: [{ message: (error as Error).message }] };
      }
    },
  },
};

/**
 * Serves core's `TrafficRulesSource` (discovery's traffic filter, the load balancer) from a live
 * config-center namespace: pull-outs, canaries and weighted groups change with each release.
 */
export function trafficRulesSource(ns: LiveNamespace<TrafficRules> | LiveNamespace): TrafficRulesSource {
  if (!ns || typeof (ns as LiveNamespace).subscribe !== 'function') {
    throw invalidArgument('config-center', 'ns', 'must be a namespace opened on a config center');
  }
  const live = ns as LiveNamespace<TrafficRules>;
  return {
    current: () => validateTrafficRules(live.value ?? {}),
    subscribe(listener: (rules: TrafficRules) => void): Unsubscribe {
      return live.subscribe((u) => listener(u.value));
    },
  };
}

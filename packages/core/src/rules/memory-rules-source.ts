import type { TrafficRules, TrafficRulesSource } from '../contracts/traffic-rules.js';
import { invalidArgument } from '../errors.js';
import { Emitter } from '../primitives/emitter.js';
import { assertNonEmptyString, assertStringArray, assertWeight } from '../validation.js';

const PKG = 'core';

export interface MemoryRulesSource extends TrafficRulesSource {
  /** Replaces the rules (validated) and notifies subscribers. */
  set(rules: TrafficRules): void;
  /** Derives new rules from the current ones. */
  update(fn: (current: TrafficRules) => TrafficRules): void;
}

/** An in-memory rules source: the embedded default, and what tests and the demo drive. */
export function createMemoryRulesSource(initial: TrafficRules = {}): MemoryRulesSource {
  let rules = validateTrafficRules(initial);
  const events = new Emitter<{ 'rules:changed': TrafficRules }>();
  return {
    current: () => rules,
    subscribe: (listener) => events.on('rules:changed', listener),
    set(next) {
      rules = validateTrafficRules(next);
      events.emit('rules:changed', rules);
    },
    update(fn) {
      this.set(fn(rules));
    },
  };
}

/** Throws `INVALID_ARGUMENT` naming the field of the first malformed rule. */
export function validateTrafficRules(rules: TrafficRules): TrafficRules {
  if (typeof rules !== 'object' || rules === null) throw invalidArgument(PKG, 'rules', 'must be an object');
  rules.pulledInstances?.forEach((r, i) => {
    assertNonEmptyString(PKG, `rules.pulledInstances[${i}].service`, r?.service);
    assertNonEmptyString(PKG, `rules.pulledInstances[${i}].id`, r.id);
  });
  if (rules.pulledServers) assertStringArray(PKG, 'rules.pulledServers', rules.pulledServers);
  rules.pulledZones?.forEach((z, i) => assertNonEmptyString(PKG, `rules.pulledZones[${i}].zone`, z?.zone));
  rules.routes?.forEach((route, i) => {
    assertNonEmptyString(PKG, `rules.routes[${i}].service`, route?.service);
    if (!Array.isArray(route.groups) || route.groups.length === 0) {
      throw invalidArgument(PKG, `rules.routes[${i}].groups`, 'must be a non-empty array');
    }
    route.groups.forEach((g, j) => {
      assertNonEmptyString(PKG, `rules.routes[${i}].groups[${j}].name`, g?.name);
      assertWeight(PKG, `rules.routes[${i}].groups[${j}].weight`, g.weight);
    });
    if (route.canary && !route.groups.some((g) => g.name === route.canary?.group)) {
      throw invalidArgument(PKG, `rules.routes[${i}].canary.group`, `must name one of the route's groups`);
    }
  });
  return Object.freeze({ ...rules });
}

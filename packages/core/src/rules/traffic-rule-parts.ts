import type { PullOutRules, RouteRules, TrafficRules } from '../contracts/traffic-rules.js';

/** The pull-out part of a rules document (what the discovery client applies). */
export function pullOutsOf(rules: TrafficRules | undefined): PullOutRules {
  if (!rules) return {};
  const out: { -readonly [K in keyof PullOutRules]: PullOutRules[K] } = {};
  if (rules.pulledInstances !== undefined) out.pulledInstances = rules.pulledInstances;
  if (rules.pulledServers !== undefined) out.pulledServers = rules.pulledServers;
  if (rules.pulledZones !== undefined) out.pulledZones = rules.pulledZones;
  return out;
}

/** True when the rules pull anything out. */
export function hasPullOuts(rules: TrafficRules | undefined): boolean {
  return (
    (rules?.pulledInstances?.length ?? 0) > 0 ||
    (rules?.pulledServers?.length ?? 0) > 0 ||
    (rules?.pulledZones?.length ?? 0) > 0
  );
}

/** The route part of a rules document (what the load balancer applies). */
export function routesOf(rules: TrafficRules | undefined): RouteRules {
  return rules?.routes === undefined ? {} : { routes: rules.routes };
}

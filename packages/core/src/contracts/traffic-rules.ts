import type { Unsubscribe } from '../primitives/emitter.js';

/**
 * Operator traffic rules (Ctrip Artemis style): pull instances, hosts or zones out of rotation,
 * split traffic between route groups, and let canary callers reach a canary group. Rules come from a
 * `TrafficRulesSource` (in memory now, the config center later) and apply live.
 */
export interface InstanceRef {
  readonly service: string;
  readonly id: string;
}

export interface ZoneRef {
  /** Omit to pull the zone out for every service. */
  readonly service?: string;
  readonly zone: string;
}

/** A named subset of a service's instances, matched by tags and/or metadata. */
export interface RouteGroup {
  readonly name: string;
  /** Share of traffic, relative to the other groups of the same rule (>= 0). */
  readonly weight: number;
  readonly match: { readonly tags?: readonly string[]; readonly metadata?: Readonly<Record<string, string>> };
}

export interface RouteRule {
  readonly service: string;
  readonly groups: readonly RouteGroup[];
  /** Callers allowed into a group regardless of weights (canary allow-list). */
  readonly canary?: {
    readonly group: string;
    readonly callerIps?: readonly string[];
    readonly keys?: readonly string[];
  };
}

/**
 * Pull-outs: which instances may be seen at all. A discovery question, applied in one place, the
 * discovery client (`createDiscoveryClient({ rules })`), so every consumer of the client (a load
 * balancer, a DNS server) agrees on what is in rotation.
 */
export interface PullOutRules {
  /** Instances pulled out of rotation (pull-in = remove the entry). */
  readonly pulledInstances?: readonly InstanceRef[];
  /** Hosts (instance addresses) pulled out for every service running on them. */
  readonly pulledServers?: readonly string[];
  readonly pulledZones?: readonly ZoneRef[];
}

/** Routes: how traffic is split among the instances in rotation. Applied by the load balancer. */
export interface RouteRules {
  readonly routes?: readonly RouteRule[];
}

/** One rules document: pull-outs (discovery client) plus routes (load balancer). */
export interface TrafficRules extends PullOutRules, RouteRules {}

export interface TrafficRulesSource {
  current(): TrafficRules;
  /** Called with the new rules after every change. */
  subscribe(listener: (rules: TrafficRules) => void): Unsubscribe;
}

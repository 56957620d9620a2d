import type { PickContext, PickerBuilder, RouteGroup, RouteRule, ServiceInstance } from '@switchyard/core';
import { hashString } from '../hashing/murmur3.js';
import type { EndpointState } from './endpoint-state.js';
import { type LocalityOptions, LocalityPlan, type PickClock } from './locality-plan.js';

function matchesGroup(instance: ServiceInstance, group: RouteGroup): boolean {
  const { tags, metadata } = group.match ?? {};
  if (tags) for (const t of tags) if (!instance.tags.includes(t)) return false;
  if (metadata) for (const [k, v] of Object.entries(metadata)) if (instance.metadata[k] !== v) return false;
  return true;
}

const MAX_LOCALITIES = 32;

interface GroupPlan {
  readonly name: string;
  readonly weight: number;
  readonly plan: LocalityPlan;
}

export interface RoutingInput {
  readonly states: readonly EndpointState[];
  /** The route rules (groups, canary); pull-outs never reach the balancer's plan. */
  readonly routes: readonly RouteRule[] | undefined;
  readonly service: string;
  readonly builder: PickerBuilder;
  readonly clock: PickClock;
  readonly locality: LocalityOptions | undefined;
  readonly panicThreshold: number;
  readonly callerIp: string | undefined;
}

/**
 * The routing state for one snapshot and one version of the route rules: instances split into the rule's weighted route groups (first matching group wins;
 * unmatched instances get no traffic while a rule exists), each group a locality plan. Canary
 * callers (by IP or key) always go to the canary group.
 */
export class RoutingPlan {
  readonly active: ReadonlyMap<string, EndpointState>;
  readonly #groups: GroupPlan[];
  readonly #cumulative: Float64Array;
  readonly #canaryIndex: number;
  readonly #canaryIps: ReadonlySet<string>;
  readonly #canaryKeys: ReadonlySet<string>;
  readonly #callerIp: string | undefined;
  readonly #groupOf = new Map<string, number>();
  readonly #input: RoutingInput;
  /** Locality plans for callers that pass their own zone/region in the pick context (bounded cache). */
  readonly #byLocality = new Map<string, LocalityPlan[]>();

  constructor(input: RoutingInput) {
    this.#input = input;
    const active = [...input.states];
    this.active = new Map(active.map((s) => [s.id, s]));
    this.#callerIp = input.callerIp;
    const rule: RouteRule | undefined = input.routes?.find((r) => r.service === input.service);
    const make = (states: EndpointState[]) =>
      new LocalityPlan(states, input.builder, input.clock, input.locality, input.panicThreshold);
    let groups: GroupPlan[] = [];
    if (rule) {
      const members: EndpointState[][] = rule.groups.map(() => []);
      for (const s of active) {
        const g = rule.groups.findIndex((group) => matchesGroup(s.instance, group));
        if (g >= 0) (members[g] as EndpointState[]).push(s);
      }
      groups = rule.groups
        .map((g, i) => ({ name: g.name, weight: g.weight, plan: make(members[i] as EndpointState[]) }))
        .filter((g) => g.plan.size > 0);
    }
    if (groups.length === 0 || groups.every((g) => g.weight === 0 && g.name !== rule?.canary?.group)) {
      groups = [{ name: 'default', weight: 1, plan: make(active) }];
    }
    this.#groups = groups;
    groups.forEach((g, i) => {
      for (const s of g.plan.states) this.#groupOf.set(s.id, i);
    });
    this.#cumulative = new Float64Array(groups.length);
    let acc = 0;
    groups.forEach((g, i) => {
      acc += g.weight;
      this.#cumulative[i] = acc;
    });
    this.#canaryIndex = rule?.canary ? groups.findIndex((g) => g.name === rule.canary?.group) : -1;
    this.#canaryIps = new Set(rule?.canary?.callerIps ?? []);
    this.#canaryKeys = new Set(rule?.canary?.keys ?? []);
  }

  get size(): number {
    return this.active.size;
  }

  get groupNames(): string[] {
    return this.#groups.map((g) => g.name);
  }

  recompute(): void {
    for (const g of this.#groups) g.plan.recompute();
    for (const plans of this.#byLocality.values()) for (const p of plans) p.recompute();
  }

  #plansFor(zone: string | undefined, region: string | undefined): LocalityPlan[] {
    const key = `${zone ?? ''}\u0000${region ?? ''}`;
    let plans = this.#byLocality.get(key);
    if (!plans) {
      const { builder, clock, locality, panicThreshold } = this.#input;
      const callerLocality: LocalityOptions = {
        ...(zone !== undefined ? { zone } : {}),
        ...(region !== undefined ? { region } : {}),
        ...(locality?.overprovisioning !== undefined ? { overprovisioning: locality.overprovisioning } : {}),
      };
      plans = this.#groups.map(
        (g) => new LocalityPlan(g.plan.states, builder, clock, callerLocality, panicThreshold),
      );
      if (this.#byLocality.size >= MAX_LOCALITIES) {
        const oldest = this.#byLocality.keys().next();
        if (!oldest.done) this.#byLocality.delete(oldest.value);
      }
      this.#byLocality.set(key, plans);
    }
    return plans;
  }

  /** Which group a request goes to (index into the plan's groups). */
  groupFor(context: PickContext | undefined, random: () => number): number {
    if (this.#canaryIndex >= 0) {
      const ip = context?.callerIp ?? this.#callerIp;
      if (
        (ip !== undefined && this.#canaryIps.has(ip)) ||
        (context?.key !== undefined && this.#canaryKeys.has(context.key))
      )
        return this.#canaryIndex;
    }
    const n = this.#groups.length;
    if (n === 1) return 0;
    const total = this.#cumulative[n - 1] as number;
    if (total === 0) return 0;
    const u = context?.key !== undefined ? hashString(context.key, 0x2545f491) / 4294967296 : random();
    const x = u * total;
    for (let i = 0; i < n; i++) if (x < (this.#cumulative[i] as number)) return i;
    return n - 1;
  }

  groupHas(group: number, id: string): boolean {
    return this.#groupOf.get(id) === group;
  }

  /**
   * Picks within a group. A context zone/region different from the balancer's own locality uses
   * locality tiers built for that caller (cached, rebuilt with the plan).
   */
  pick(context: PickContext | undefined, group: number, u: number): ServiceInstance | undefined {
    if (context !== undefined && (context.zone !== undefined || context.region !== undefined)) {
      const own = this.#input.locality;
      if (context.zone !== own?.zone || context.region !== own?.region)
        return this.#plansFor(context.zone, context.region)[group]?.pick(context, u);
    }
    return (this.#groups[group] as GroupPlan | undefined)?.plan.pick(context, u);
  }
}

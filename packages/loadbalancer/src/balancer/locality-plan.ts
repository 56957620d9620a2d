import type { PickContext, Picker, PickerBuilder, ServiceInstance } from '@switchyard/core';
import type { EndpointState, ResolvedSlowStartOptions } from './endpoint-state.js';

export interface LocalityOptions {
  /** The caller's zone: instances in it form the first tier. */
  zone?: string;
  /** The caller's region: its other zones form the second tier. */
  region?: string;
  /** Envoy's overprovisioning factor: tier load = min(remaining, factor × healthy fraction). Default 1.4. */
  overprovisioning?: number;
}

/** Shared, mutable per-pick context read by the picker callbacks (set once per pick). */
export interface PickClock {
  now: number;
  readonly tau: number;
  readonly slowStart: ResolvedSlowStartOptions | undefined;
  readonly random: () => number;
}

interface Tier {
  readonly states: readonly EndpointState[];
  readonly picker: Picker;
}

export function buildPicker(
  builder: PickerBuilder,
  states: readonly EndpointState[],
  clock: PickClock,
  honourEligibility: boolean,
): Picker {
  const instances = states.map((s) => s.instance);
  return builder(instances, {
    random: clock.random,
    weightOf: (inst, i) =>
      inst.weight * (states[i] as EndpointState).weightFactor(clock.now, clock.slowStart),
    loadOf: (_, i) => (states[i] as EndpointState).inFlight,
    latencyOf: (_, i) => (states[i] as EndpointState).latency(clock.now, clock.tau),
    ...(honourEligibility
      ? { isEligible: (_: ServiceInstance, i: number) => (states[i] as EndpointState).eligible }
      : {}),
  });
}

/**
 * One set of instances split into locality tiers (caller zone, caller region, the rest). Traffic
 * goes to the first tier up to overprovisioning × its healthy fraction and spills over in
 * proportion; below the panic threshold of healthy instances every instance is used regardless of
 * eligibility (Envoy panic mode).
 */
export class LocalityPlan {
  readonly states: readonly EndpointState[];
  readonly #tiers: Tier[];
  readonly #cumulative: Float64Array;
  readonly #panicPicker: Picker;
  readonly #overprovisioning: number;
  readonly #panicThreshold: number;
  #panic = false;

  constructor(
    states: readonly EndpointState[],
    builder: PickerBuilder,
    clock: PickClock,
    locality: LocalityOptions | undefined,
    panicThreshold: number,
  ) {
    this.states = states;
    this.#overprovisioning = locality?.overprovisioning ?? 1.4;
    this.#panicThreshold = panicThreshold;
    const buckets: EndpointState[][] = [[], [], []];
    for (const s of states) {
      const { zone, region } = s.instance;
      const tier =
        locality?.zone !== undefined &&
        zone === locality.zone &&
        (locality.region === undefined || region === undefined || region === locality.region)
          ? 0
          : locality?.region !== undefined && region === locality.region
            ? 1
            : 2;
      (buckets[tier] as EndpointState[]).push(s);
    }
    this.#tiers = buckets
      .filter((b) => b.length > 0)
      .map((b) => ({ states: b, picker: buildPicker(builder, b, clock, true) }));
    this.#cumulative = new Float64Array(this.#tiers.length);
    this.#panicPicker = buildPicker(builder, states, clock, false);
    this.recompute();
  }

  get size(): number {
    return this.states.length;
  }

  get panic(): boolean {
    return this.#panic;
  }

  /** Recomputes tier shares from current eligibility (call after any eligibility change). */
  recompute(): void {
    let remaining = 1;
    let healthyTotal = 0;
    let acc = 0;
    for (let t = 0; t < this.#tiers.length; t++) {
      const tier = this.#tiers[t] as Tier;
      let healthy = 0;
      for (const s of tier.states) if (s.eligible && s.instance.weight > 0) healthy++;
      healthyTotal += healthy;
      const load = Math.min(remaining, (this.#overprovisioning * healthy) / tier.states.length);
      remaining -= load;
      acc += load;
      this.#cumulative[t] = acc;
    }
    if (acc > 0)
      for (let t = 0; t < this.#cumulative.length; t++)
        this.#cumulative[t] = (this.#cumulative[t] as number) / acc;
    this.#panic =
      this.states.length > 0 && (acc === 0 || healthyTotal / this.states.length < this.#panicThreshold);
  }

  pick(context: PickContext | undefined, u: number): ServiceInstance | undefined {
    if (this.#panic) return this.#panicPicker.pick(context);
    const tiers = this.#tiers;
    let t = 0;
    while (t < tiers.length - 1 && u >= (this.#cumulative[t] as number)) t++;
    for (let k = 0; k < tiers.length; k++) {
      const got = (tiers[(t + k) % tiers.length] as Tier).picker.pick(context);
      if (got) return got;
    }
    return this.#panicPicker.pick(context);
  }
}

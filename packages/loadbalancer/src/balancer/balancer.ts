import type {
  DiscoveryClient,
  PickContext,
  RouteRule,
  ServiceInstance,
  TimerHandle,
  Unsubscribe,
} from '@switchyard/core';
import { Emitter, raceSignal, routesOf, SwitchyardError } from '@switchyard/core';
import { opt, parseOptions, runWatchLoop, type WatchSource } from '@switchyard/core/driver';
import { keyString } from '../hashing/key-hash.js';
import { leastRequestPicker } from '../pickers/least-request.js';
import { AdaptiveThrottle } from '../resilience/adaptive-throttle.js';
import { type BreakerState, CircuitBreaker } from '../resilience/circuit-breaker.js';
import { LatencyTracker } from '../resilience/latency-tracker.js';
import { RetryBudget } from '../resilience/retry-budget.js';
import { PKG } from '../weights/prepared-set.js';
import type { Balancer, BalancerEvents } from './balancer-api.js';
import {
  type BalancerOptions,
  type ResolvedBalancerOptions,
  resolveBalancerOptions,
} from './balancer-options.js';
import { watchSourceFor } from './discovery-source.js';
import { EndpointState, type EndpointStatsView } from './endpoint-state.js';
import type { PickClock } from './locality-plan.js';
import { recordOutlierOutcome } from './outlier-ejection.js';
import { PickHandle } from './pick-handle.js';
import { RoutingPlan } from './routing-plan.js';
import { StickyTable } from './sticky-table.js';

export type { Balancer, BalancerEvents } from './balancer-api.js';

/**
 * A client-side load balancer for one service: follows `discovery.watch(service)` through core's
 * watch loop, applies route groups and canaries, locality, breakers, outlier ejection and slow start
 * around a picker, and returns a handle whose `report` feeds the shared per-endpoint statistics.
 * Pull-outs are applied by the discovery client (a raw backend given with `rules` is wrapped in one).
 * Every option is checked here, synchronously.
 */
export function createBalancer(options: BalancerOptions): Balancer {
  return new BalancerImpl(options);
}

class BalancerImpl implements Balancer {
  readonly service: string;
  readonly retryBudget: RetryBudget | undefined;
  readonly latency = new LatencyTracker();
  readonly #o: ResolvedBalancerOptions;
  readonly #builder;
  readonly #source: WatchSource;
  /** The discovery client wrapped around a raw backend given with `rules` (closed with the balancer). */
  readonly #ownedClient: DiscoveryClient | undefined;
  readonly #events = new Emitter<BalancerEvents>({ diagnostics: true, source: 'loadbalancer' });
  readonly #states = new Map<string, EndpointState>();
  readonly #pickClock: PickClock;
  readonly #abort = new AbortController();
  readonly #serviceBreaker: CircuitBreaker | undefined;
  readonly #throttle: AdaptiveThrottle | undefined;
  readonly #sticky: StickyTable | undefined;
  #plan: RoutingPlan | undefined;
  #routes: readonly RouteRule[] | undefined;
  #unsubscribeRules: Unsubscribe | undefined;
  #timer: TimerHandle | undefined;
  #timerAt = Number.POSITIVE_INFINITY;
  #closed = false;
  #readyResolve!: () => void;
  #readyReject!: (e: unknown) => void;
  readonly #ready: Promise<void>;

  constructor(options: BalancerOptions) {
    const o = resolveBalancerOptions(options);
    this.#o = o;
    this.service = o.service;
    this.#builder = o.picker ?? leastRequestPicker();
    this.#pickClock = {
      now: 0,
      tau: o.ewmaDecay,
      slowStart: o.slowStart,
      // Pickers draw integers from it and clamp an injected source themselves.
      random: o.pickerRandom ?? Math.random,
    };
    const { source, owned } = watchSourceFor(o);
    this.#source = source;
    this.#ownedClient = owned;
    this.retryBudget =
      o.retryBudget === undefined
        ? undefined
        : new RetryBudget({
            clock: o.clock,
            ...o.retryBudget,
            onRefused: (kind) =>
              this.#events.emit('balancer:budget-exhausted', { service: this.service, kind }),
          });
    this.#throttle = o.adaptiveThrottle === undefined ? undefined : new AdaptiveThrottle(o.adaptiveThrottle);
    this.#serviceBreaker = this.#o.serviceBreaker
      ? new CircuitBreaker(this.#o.serviceBreaker, (state) =>
          this.#events.emit('balancer:breaker-changed', { service: this.service, id: undefined, state }),
        )
      : undefined;
    this.#sticky = this.#o.stickyMaxKeys > 0 ? new StickyTable(this.#o.stickyMaxKeys) : undefined;
    this.#ready = new Promise<void>((resolve, reject) => {
      this.#readyResolve = resolve;
      this.#readyReject = reject;
    });
    this.#ready.catch(() => {});
    if (o.rules) {
      this.#routes = routesOf(o.rules.current()).routes;
      this.#unsubscribeRules = o.rules.subscribe((rules) => {
        // Only a change of the routes concerns the plan: a pull-out arrives as a discovery event.
        const routes = routesOf(rules).routes;
        if (routes === this.#routes) return;
        this.#routes = routes;
        if (this.#plan) this.#rebuild();
      });
    }
    // Start on a microtask so listeners attached right after construction see the first events.
    queueMicrotask(() => {
      // Core's watch loop: backoff with the healthy-watch guard (no tight relist loop), never throws.
      void runWatchLoop({
        pkg: PKG,
        source: this.#source,
        service: this.service,
        filter: o.filter,
        clock: o.clock,
        backoff: o.watchBackoff,
        signal: this.#abort.signal,
        onEvent: (event) => {
          if (!this.#closed) this.#applySnapshot(event.snapshot.instances);
        },
        onError: (error) => this.#events.emit('balancer:watch-error', { service: this.service, error }),
      });
    });
  }

  ready(options?: { signal?: AbortSignal }): Promise<void> {
    try {
      const { signal } = parseOptions(PKG, options, READY_SCHEMA);
      return raceSignal(this.#ready, signal, PKG, 'ready');
    } catch (error) {
      return Promise.reject(error);
    }
  }

  #applySnapshot(instances: readonly ServiceInstance[]): void {
    const now = this.#o.clock.monotonic();
    const initial = this.#plan === undefined;
    const seen = new Set<string>();
    for (const inst of instances) {
      seen.add(inst.id);
      const existing = this.#states.get(inst.id);
      if (existing) existing.instance = inst;
      else {
        const state = new EndpointState(inst, this.#o.breaker, (s, st) => this.#onBreaker(s, st));
        if (!initial && this.#o.slowStart) state.rampFrom = now;
        this.#states.set(inst.id, state);
      }
    }
    for (const id of [...this.#states.keys()]) {
      if (!seen.has(id)) {
        this.#states.delete(id);
        this.#sticky?.forgetInstance(id);
      }
    }
    this.#rebuild();
    if (initial) this.#readyResolve();
  }

  #rebuild(): void {
    const now = this.#o.clock.monotonic();
    this.#pickClock.now = now;
    const states = [...this.#states.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    for (const s of states) s.eligible = this.#eligibleNow(s, now);
    this.#plan = new RoutingPlan({
      states,
      routes: this.#routes,
      service: this.service,
      builder: this.#builder,
      clock: this.#pickClock,
      locality: this.#o.locality,
      panicThreshold: this.#o.panicThreshold,
      callerIp: this.#o.callerIp,
    });
    this.#events.emit('balancer:instances-changed', { service: this.service, instances: this.instances() });
    this.#schedule(now);
  }

  #eligibleNow(s: EndpointState, now: number): boolean {
    return !s.isEjected() && (s.breaker ? s.breaker.canPass(now) : true);
  }

  #updateEligibility(s: EndpointState, now: number): void {
    const next = this.#eligibleNow(s, now);
    if (next !== s.eligible) {
      s.eligible = next;
      if (this.#plan?.active.get(s.id) === s) this.#plan.recompute();
    }
  }

  #onBreaker(s: EndpointState, state: BreakerState): void {
    this.#events.emit('balancer:breaker-changed', { service: this.service, id: s.id, state });
    if (state === 'closed' && this.#o.slowStart) {
      s.rampFrom = this.#o.clock.monotonic();
      this.#scheduleAt(s.rampFrom);
    }
  }

  pick(context?: PickContext, avoid?: ReadonlySet<string>): PickHandle {
    // A number key (42) is the key "42": converted once here, so hashing, stickiness and canary
    // keys agree; null, arrays and objects are INVALID_ARGUMENT naming context.key.
    if (context?.key !== undefined && typeof context.key !== 'string')
      context = { ...context, key: keyString(context.key) };
    if (this.#closed)
      throw new SwitchyardError('CLOSED', `[${PKG}] balancer for "${this.service}" is closed`);
    const plan = this.#plan;
    if (!plan || plan.size === 0) {
      throw new SwitchyardError(
        'NO_AVAILABLE_INSTANCE',
        `[${PKG}] no available instance of "${this.service}"`,
        {
          details: { service: this.service, reason: plan ? 'empty' : 'no snapshot yet (await ready())' },
        },
      );
    }
    const clock = this.#pickClock;
    const now = this.#o.clock.monotonic();
    clock.now = now;
    const random = this.#o.random;
    if (this.#throttle && !this.#throttle.allow(now, random())) {
      throw new SwitchyardError(
        'CIRCUIT_OPEN',
        `[${PKG}] "${this.service}" is throttled client-side (adaptive throttling)`,
        {
          details: { service: this.service, reason: 'adaptive-throttle' },
        },
      );
    }
    const sb = this.#serviceBreaker;
    let serviceProbe = false;
    if (sb) {
      if (!sb.tryAcquire(now)) {
        throw new SwitchyardError('CIRCUIT_OPEN', `[${PKG}] circuit for "${this.service}" is open`, {
          details: { service: this.service, reason: 'service-breaker' },
        });
      }
      serviceProbe = sb.state === 'half-open';
    }
    const group = plan.groupFor(context, random);
    const key = context?.key;
    let state: EndpointState | undefined;
    if (this.#sticky && key !== undefined) {
      const id = this.#sticky.get(key);
      const s = id === undefined ? undefined : plan.active.get(id);
      if (s?.eligible && plan.groupHas(group, s.id) && !avoid?.has(s.id)) state = s;
    }
    for (let attempt = 0; !state && attempt < 3; attempt++) {
      const instance = plan.pick(context, group, random());
      state = instance && plan.active.get(instance.id);
      // A retry or hedge should land elsewhere: re-draw (bounded) when the pick is in `avoid`.
      if (state && avoid?.has(state.id) && attempt < 2 && plan.size > avoid.size) state = undefined;
    }
    if (state && avoid?.has(state.id)) {
      for (const s of plan.active.values()) {
        if (s.eligible && !avoid.has(s.id) && plan.groupHas(group, s.id)) {
          state = s;
          break;
        }
      }
    }
    if (!state) {
      if (serviceProbe) sb?.releaseProbe();
      throw new SwitchyardError(
        'NO_AVAILABLE_INSTANCE',
        `[${PKG}] no available instance of "${this.service}"`,
        {
          details: { service: this.service, reason: 'none eligible' },
        },
      );
    }
    if (this.#sticky && key !== undefined) this.#sticky.set(key, state.id);
    state.inFlight++;
    state.requests++;
    let probe = false;
    const b = state.breaker;
    if (b && b.state === 'half-open') {
      probe = b.tryAcquire(now);
      this.#updateEligibility(state, now);
    }
    return new PickHandle(state.instance, now, (ok, latency, cancelled) =>
      this.#report(state, ok, latency ?? this.#o.clock.monotonic() - now, cancelled, probe, serviceProbe),
    );
  }

  #report(
    s: EndpointState,
    ok: boolean,
    latency: number,
    cancelled: boolean,
    probe: boolean,
    serviceProbe: boolean,
  ): void {
    const now = this.#o.clock.monotonic();
    s.inFlight--;
    if (cancelled) {
      if (probe) s.breaker?.releaseProbe();
      if (serviceProbe) this.#serviceBreaker?.releaseProbe();
      this.#updateEligibility(s, now);
      return;
    }
    const rtt = latency;
    if (!ok) s.failures++;
    s.observeLatency(rtt, now, this.#o.ewmaDecay);
    if (ok) this.latency.record(rtt);
    s.breaker?.record(ok, now, probe);
    this.#serviceBreaker?.record(ok, now, serviceProbe);
    if (ok) this.#throttle?.accepted(now);
    this.#outlier(s, ok, now);
    this.#updateEligibility(s, now);
    // O(1): only this endpoint's deadlines can have changed (an existing earlier timer wins).
    if (s.breaker && s.breaker.state === 'open') this.#scheduleAt(s.breaker.nextTransition);
    if (s.ejectedUntil > 0) this.#scheduleAt(s.ejectedUntil);
  }

  #outlier(s: EndpointState, ok: boolean, now: number): void {
    const od = this.#o.outlier;
    const plan = this.#plan;
    if (!od || !plan || plan.active.get(s.id) !== s) return;
    const duration = recordOutlierOutcome(s, ok, now, od, plan.active.values(), plan.size);
    if (duration !== undefined)
      this.#events.emit('balancer:ejected', { service: this.service, id: s.id, duration });
  }

  /** Earliest pending deadline: breaker half-open, ejection end, slow-start step. One timer for all. */
  #schedule(now: number): void {
    let at = Number.POSITIVE_INFINITY;
    const slow = this.#o.slowStart;
    for (const s of this.#states.values()) {
      if (s.breaker) at = Math.min(at, s.breaker.nextTransition);
      if (s.ejectedUntil > 0) at = Math.min(at, s.ejectedUntil);
      if (slow && now - s.rampFrom < slow.window) at = Math.min(at, now + slow.window / 10);
    }
    this.#scheduleAt(at);
  }

  #scheduleAt(at: number): void {
    if (this.#closed || !Number.isFinite(at) || at >= this.#timerAt) return;
    this.#o.clock.clearTimeout(this.#timer);
    this.#timerAt = at;
    const delay = Math.max(0, at - this.#o.clock.monotonic());
    this.#timer = this.#o.clock.setTimeout(() => this.#tick(), delay, { unref: true });
  }

  #tick(): void {
    this.#timer = undefined;
    this.#timerAt = Number.POSITIVE_INFINITY;
    if (this.#closed) return;
    const now = this.#o.clock.monotonic();
    const slow = this.#o.slowStart;
    let reweigh = false;
    for (const s of this.#states.values()) {
      s.breaker?.refresh(now);
      if (s.ejectedUntil > 0 && now >= s.ejectedUntil) {
        s.ejectedUntil = 0;
        s.returnedAt = now;
        if (slow) s.rampFrom = now;
        this.#events.emit('balancer:returned', { service: this.service, id: s.id });
      }
      if (slow && now - s.rampFrom <= slow.window + slow.window / 10) reweigh = true;
    }
    if (reweigh) this.#rebuild();
    else {
      for (const s of this.#states.values()) s.eligible = this.#eligibleNow(s, now);
      this.#plan?.recompute();
      this.#schedule(now);
    }
  }

  instances(): readonly ServiceInstance[] {
    return this.#plan ? [...this.#plan.active.values()].map((s) => s.instance) : [];
  }

  stats(): EndpointStatsView[] {
    const now = this.#o.clock.monotonic();
    return [...this.#states.values()].map((s) => s.view(now, this.#o.ewmaDecay, this.#o.slowStart));
  }

  on<K extends keyof BalancerEvents>(event: K, listener: (payload: BalancerEvents[K]) => void): Unsubscribe {
    return this.#events.on(event, listener);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#abort.abort();
    this.#o.clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#unsubscribeRules?.();
    this.#readyReject(
      new SwitchyardError('CLOSED', `[${PKG}] balancer for "${this.service}" closed before ready`),
    );
    this.#events.removeAll();
    await this.#ownedClient?.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

const READY_SCHEMA = { signal: opt.signal() };

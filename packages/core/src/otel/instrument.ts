import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import type { Attributes, Counter, Histogram, Meter, Tracer } from '@opentelemetry/api';
import * as otel from '@opentelemetry/api';
import type { RegistrationEvents } from '../contracts/discovery.js';
import type { DiscoveryClientEvents } from '../discovery/client/types.js';
import { invalidArgument } from '../errors.js';
import { DIAGNOSTICS_PREFIX } from '../primitives/diagnostics.js';
import type { DiagnosticsPayloads } from '../primitives/diagnostics-payloads.js';
import { CACHE_ATTRIBUTES, CACHE_METRICS, cacheHandlers } from './cache-metrics.js';

const PKG = 'core';
/** Instrumentation scope name used for the default meter and tracer. */
export const OTEL_SCOPE = '@switchyard/core';

/** The parts of `@opentelemetry/api` the bridge uses (pass your own copy with `api`). */
export interface OtelApi {
  readonly metrics: { getMeter(name: string, version?: string): Meter };
  readonly trace: { getTracer(name: string, version?: string): Tracer };
}

export interface InstrumentSwitchyardOptions {
  /** Meter for the counters and histograms (default `api.metrics.getMeter('@switchyard/core')`). */
  meter?: Meter;
  /**
   * Tracer for the short spans recorded on a lost lease, a lost registration and a stale cache
   * (default `api.trace.getTracer('@switchyard/core')`); `false` records no spans.
   */
  tracer?: Tracer | false;
  /** The OpenTelemetry API to take the default meter and tracer from (default: the installed one). */
  api?: OtelApi;
  /**
   * Maps a lock key to the value of the `switchyard.lock.key` attribute, or `undefined` to leave
   * it out. Lock keys are often unbounded (one per order, per user): map them to a bounded set
   * (`(key) => key.split(':')[0]`) or leave this unset (the default: no key attribute).
   */
  keyAttribute?: (key: string) => string | undefined;
}

/** Stops recording: unsubscribes every channel. Idempotent. */
export interface SwitchyardInstrumentation extends Disposable {
  close(): void;
  readonly closed: boolean;
}

/** Metric names recorded by {@link instrumentSwitchyard}. */
export const OTEL_METRICS = {
  lockAcquired: 'switchyard.lock.acquired',
  lockReleased: 'switchyard.lock.released',
  lockLost: 'switchyard.lock.lost',
  registrationLost: 'switchyard.registration.lost',
  registrationRestored: 'switchyard.registration.restored',
  discoveryStale: 'switchyard.discovery.stale',
  discoveryStaleDuration: 'switchyard.discovery.stale_duration',
  discoveryRecovered: 'switchyard.discovery.recovered',
  discoveryResync: 'switchyard.discovery.resync',
  discoveryMissedChanges: 'switchyard.discovery.missed_changes',
  discoveryPanic: 'switchyard.discovery.panic',
  discoveryError: 'switchyard.discovery.error',
  balancerBreakerTransitions: 'switchyard.balancer.breaker.transitions',
  balancerEjections: 'switchyard.balancer.ejections',
  balancerEjectionDuration: 'switchyard.balancer.ejection_duration',
  balancerReturns: 'switchyard.balancer.returns',
  balancerBudgetExhausted: 'switchyard.balancer.budget_exhausted',
  ...CACHE_METRICS,
} as const;

/** Attribute names recorded by {@link instrumentSwitchyard}. */
export const OTEL_ATTRIBUTES = {
  lockKey: 'switchyard.lock.key',
  service: 'switchyard.service',
  instanceId: 'switchyard.instance.id',
  afterOutage: 'switchyard.discovery.after_outage',
  panicActive: 'switchyard.discovery.panic.active',
  during: 'switchyard.discovery.during',
  breakerState: 'switchyard.balancer.breaker.state',
  breakerScope: 'switchyard.balancer.breaker.scope',
  budgetKind: 'switchyard.balancer.budget.kind',
  /** The package that published the event (`lock-redis`, `lock-etcd`, `core`, …): lock metrics. */
  source: 'switchyard.source',
  ...CACHE_ATTRIBUTES,
} as const;

interface LeasePayload {
  key: string;
  owner?: string;
  token: bigint;
  ttl?: number;
  cause?: unknown;
  source?: string;
}

type Handler = (message: unknown) => void;

/**
 * Bridges Switchyard's `node:diagnostics_channel` events to OpenTelemetry metrics (and a few
 * short spans). Works for every backend in the process, including several copies of core.
 * Returns a handle whose `close()` (or `using`) unsubscribes everything.
 */
export function instrumentSwitchyard(options: InstrumentSwitchyardOptions = {}): SwitchyardInstrumentation {
  const { keyAttribute } = options;
  if (keyAttribute !== undefined && typeof keyAttribute !== 'function') {
    throw invalidArgument(PKG, 'keyAttribute', 'must be a function (key) => string | undefined');
  }
  const api: OtelApi = options.api ?? otel;
  const meter = options.meter ?? api.metrics.getMeter(OTEL_SCOPE);
  const tracer = options.tracer === false ? undefined : (options.tracer ?? api.trace.getTracer(OTEL_SCOPE));

  const counter = (name: string, description: string, unit = '{event}'): Counter =>
    meter.createCounter(name, { description, unit });
  const histogram = (name: string, description: string, unit: string): Histogram =>
    meter.createHistogram(name, { description, unit });

  const m = OTEL_METRICS;
  const a = OTEL_ATTRIBUTES;
  const lockAcquired = counter(m.lockAcquired, 'Lock leases acquired');
  const lockReleased = counter(m.lockReleased, 'Lock leases released by their holder');
  const lockLost = counter(
    m.lockLost,
    'Lock leases lost before release (expiry, forced release, session loss)',
  );
  const regLost = counter(m.registrationLost, 'Service registrations the backend lost');
  const regRestored = counter(m.registrationRestored, 'Lost service registrations restored');
  const stale = counter(m.discoveryStale, 'Discovery caches that went stale (watch down or silent)');
  const staleDuration = histogram(m.discoveryStaleDuration, 'How long a discovery cache was stale', 's');
  const recovered = counter(m.discoveryRecovered, 'Stale discovery caches that recovered');
  const resync = counter(m.discoveryResync, 'Relists that found the discovery cache out of date');
  const missed = counter(
    m.discoveryMissedChanges,
    'Instance changes (added + removed + updated) found by relists: what the watch missed',
    '{change}',
  );
  const panic = counter(
    m.discoveryPanic,
    'Panic-threshold transitions (attribute active: engaged or released)',
  );
  const discoveryError = counter(m.discoveryError, 'Background discovery operations that failed');
  const breakerTransitions = counter(
    m.balancerBreakerTransitions,
    'Load-balancer circuit-breaker transitions (attributes: state, scope endpoint or service)',
  );
  const ejections = counter(m.balancerEjections, 'Endpoints ejected by outlier detection');
  const ejectionDuration = histogram(m.balancerEjectionDuration, 'Ejection periods decided', 's');
  const returns = counter(m.balancerReturns, 'Ejected endpoints returned to rotation');
  const budgetExhausted = counter(
    m.balancerBudgetExhausted,
    'Retries or hedges refused by the retry budget (attribute kind)',
  );

  const lockAttributes = (p: LeasePayload): Attributes => {
    const value = keyAttribute?.(p.key);
    const attributes: Attributes = p.source === undefined ? {} : { [a.source]: p.source };
    if (value !== undefined) attributes[a.lockKey] = value;
    return attributes;
  };
  const span = (name: string, attributes: Attributes, cause: unknown): void => {
    if (!tracer) return;
    const s = tracer.startSpan(name, { attributes });
    if (cause instanceof Error) s.recordException(cause);
    s.setStatus({
      code: otel.SpanStatusCode.ERROR,
      ...(cause instanceof Error ? { message: cause.message } : {}),
    });
    s.end();
  };

  const handlers: Record<string, Handler> = {
    'lease:acquired': (p) => lockAcquired.add(1, lockAttributes(p as LeasePayload)),
    'lease:released': (p) => lockReleased.add(1, lockAttributes(p as LeasePayload)),
    'lease:lost': (p) => {
      const { cause } = p as LeasePayload;
      const attributes = lockAttributes(p as LeasePayload);
      lockLost.add(1, attributes);
      span('switchyard.lock.lost', attributes, cause);
    },
    'registration:lost': (p) => {
      const { instance, cause } = p as RegistrationEvents['registration:lost'];
      const attributes = { [a.service]: instance.service };
      regLost.add(1, attributes);
      span('switchyard.registration.lost', { ...attributes, [a.instanceId]: instance.id }, cause);
    },
    'registration:restored': (p) => {
      const { instance } = p as RegistrationEvents['registration:restored'];
      regRestored.add(1, { [a.service]: instance.service });
    },
    'discovery:stale': (p) => {
      const { service, cause } = p as DiscoveryClientEvents['discovery:stale'];
      stale.add(1, { [a.service]: service });
      span('switchyard.discovery.stale', { [a.service]: service }, cause);
    },
    'discovery:recovered': (p) => {
      const { service, staleFor } = p as DiscoveryClientEvents['discovery:recovered'];
      recovered.add(1, { [a.service]: service });
      staleDuration.record(Math.max(0, staleFor) / 1000, { [a.service]: service });
    },
    'discovery:resync': (p) => {
      const { service, diff, afterOutage } = p as DiscoveryClientEvents['discovery:resync'];
      const attributes = { [a.service]: service, [a.afterOutage]: afterOutage };
      resync.add(1, attributes);
      missed.add(diff.added.length + diff.removed.length + diff.updated.length, attributes);
    },
    'discovery:panic': (p) => {
      const { service, active } = p as DiscoveryClientEvents['discovery:panic'];
      panic.add(1, { [a.service]: service, [a.panicActive]: active });
    },
    'discovery:error': (p) => {
      const { service, during } = p as DiscoveryClientEvents['discovery:error'];
      discoveryError.add(1, { [a.service]: service, [a.during]: during });
    },
    // @switchyard/loadbalancer. Instance ids stay out of metric attributes (unbounded over time).
    'balancer:breaker-changed': (p) => {
      const { service, id, state } = p as DiagnosticsPayloads['switchyard:balancer:breaker-changed'];
      breakerTransitions.add(1, {
        [a.service]: service,
        [a.breakerState]: state,
        [a.breakerScope]: id === undefined ? 'service' : 'endpoint',
      });
    },
    'balancer:ejected': (p) => {
      const { service, duration } = p as DiagnosticsPayloads['switchyard:balancer:ejected'];
      ejections.add(1, { [a.service]: service });
      ejectionDuration.record(Math.max(0, duration) / 1000, { [a.service]: service });
    },
    'balancer:returned': (p) => {
      const { service } = p as DiagnosticsPayloads['switchyard:balancer:returned'];
      returns.add(1, { [a.service]: service });
    },
    'balancer:budget-exhausted': (p) => {
      const { service, kind } = p as DiagnosticsPayloads['switchyard:balancer:budget-exhausted'];
      budgetExhausted.add(1, { [a.service]: service, [a.budgetKind]: kind });
    },
    // @switchyard/cache
    ...cacheHandlers({ counter, histogram }),
  };

  // A subscriber that throws would surface as an uncaught exception in the publisher's process:
  // a bad `keyAttribute` or exporter must never take the application down, so errors are dropped.
  const subscriptions: [string, Handler][] = Object.entries(handlers).map(([event, handle]) => [
    DIAGNOSTICS_PREFIX + event,
    (message: unknown) => {
      try {
        handle(message);
      } catch {
        // dropped on purpose (see above)
      }
    },
  ]);
  for (const [name, fn] of subscriptions) subscribe(name, fn);

  let closed = false;
  const close = (): void => {
    if (closed) return;
    closed = true;
    for (const [name, fn] of subscriptions) unsubscribe(name, fn);
  };
  return {
    close,
    get closed() {
      return closed;
    },
    [Symbol.dispose]: close,
  };
}

import { channel } from 'node:diagnostics_channel';
import {
  type Attributes,
  createNoopMeter,
  type Meter,
  SpanStatusCode,
  type Tracer,
} from '@opentelemetry/api';
import { afterEach, describe, expect, it } from 'vitest';
import { createDiscoveryClient, createMemoryLock, type InstanceInput } from '../src/index.js';
import { instrumentSwitchyard, OTEL_METRICS, type SwitchyardInstrumentation } from '../src/otel/index.js';
import { env } from './discovery-client-fixtures.js';

interface Recorded {
  name: string;
  kind: 'counter' | 'histogram';
  value: number;
  attributes: Attributes;
}

/** A meter that records every add/record call (the API package alone only has no-op providers). */
function fakeMeter() {
  const records: Recorded[] = [];
  const created: { name: string; unit: string | undefined }[] = [];
  const instrument = (kind: Recorded['kind']) => (name: string, options?: { unit?: string }) => {
    created.push({ name, unit: options?.unit });
    const write = (value: number, attributes: Attributes = {}) =>
      records.push({ name, kind, value, attributes });
    return { add: write, record: write };
  };
  const meter = Object.assign(Object.create(createNoopMeter()) as Meter, {
    createCounter: instrument('counter'),
    createHistogram: instrument('histogram'),
  });
  const sum = (name: string, attrs?: Attributes) =>
    records
      .filter(
        (r) => r.name === name && (!attrs || Object.entries(attrs).every(([k, v]) => r.attributes[k] === v)),
      )
      .reduce((total, r) => total + r.value, 0);
  const of = (name: string) => records.filter((r) => r.name === name);
  return { meter, records, created, sum, of };
}

interface RecordedSpan {
  name: string;
  attributes: Attributes;
  exceptions: unknown[];
  status?: { code: number; message?: string };
  ended: boolean;
}

function fakeTracer() {
  const spans: RecordedSpan[] = [];
  const tracer = {
    startSpan(name: string, options: { attributes?: Attributes } = {}) {
      const s: RecordedSpan = { name, attributes: options.attributes ?? {}, exceptions: [], ended: false };
      spans.push(s);
      const handle = {
        recordException: (e: unknown) => void s.exceptions.push(e),
        setStatus: (status: RecordedSpan['status']) => {
          s.status = status;
          return handle;
        },
        end: () => {
          s.ended = true;
        },
      };
      return handle;
    },
  } as unknown as Tracer;
  return { tracer, spans };
}

const inst = (id: string, extra: Partial<InstanceInput> = {}): InstanceInput => ({
  id,
  service: 'api',
  address: '10.0.0.1',
  port: 8080,
  ...extra,
});

describe('OpenTelemetry bridge (@switchyard/core/otel)', () => {
  let handle: SwitchyardInstrumentation | undefined;
  afterEach(() => {
    handle?.close();
    handle = undefined;
  });

  it('counts lock acquire, release and loss without a key attribute by default, with a span per loss', async () => {
    const m = fakeMeter();
    const t = fakeTracer();
    handle = instrumentSwitchyard({ meter: m.meter, tracer: t.tracer });
    await using lock = createMemoryLock();
    const a = await lock.acquire('orders:1', { ttl: 5_000 });
    await a.release();
    const b = await lock.acquire('orders:2', { ttl: 5_000 });
    await b.release();
    const short = await lock.acquire('orders:3', { ttl: 20, autoRenew: false });
    await expect.poll(() => short.signal.aborted).toBe(true);

    expect(m.sum(OTEL_METRICS.lockAcquired)).toBe(3);
    expect(m.sum(OTEL_METRICS.lockReleased)).toBe(2);
    expect(m.sum(OTEL_METRICS.lockLost)).toBe(1);
    // The only attribute is the publishing backend (bounded); no key by default.
    for (const r of m.records) expect(r.attributes).toEqual({ 'switchyard.source': 'core' });

    expect(t.spans).toHaveLength(1);
    const [lost] = t.spans;
    expect(lost).toMatchObject({
      name: 'switchyard.lock.lost',
      ended: true,
      attributes: { 'switchyard.source': 'core' },
    });
    expect(lost?.status?.code).toBe(SpanStatusCode.ERROR);
    expect(lost?.exceptions[0]).toMatchObject({ code: 'LOCK_LOST' });
  });

  it('adds the lock key attribute through the keyAttribute mapper (bounded cardinality)', async () => {
    const m = fakeMeter();
    handle = instrumentSwitchyard({
      meter: m.meter,
      tracer: false,
      keyAttribute: (key) => (key.startsWith('orders:') ? 'orders' : undefined),
    });
    await using lock = createMemoryLock();
    for (const key of ['orders:1', 'orders:2', 'jobs:nightly']) {
      const lease = await lock.acquire(key, { ttl: 5_000 });
      await lease.release();
    }
    expect(m.of(OTEL_METRICS.lockAcquired).map((r) => r.attributes)).toEqual([
      { 'switchyard.source': 'core', 'switchyard.lock.key': 'orders' },
      { 'switchyard.source': 'core', 'switchyard.lock.key': 'orders' },
      { 'switchyard.source': 'core' },
    ]);
    expect(m.sum(OTEL_METRICS.lockReleased, { 'switchyard.lock.key': 'orders' })).toBe(2);
  });

  it('a throwing keyAttribute or a malformed payload never throws into the publisher', async () => {
    const m = fakeMeter();
    handle = instrumentSwitchyard({
      meter: m.meter,
      keyAttribute: () => {
        throw new Error('boom');
      },
    });
    await using lock = createMemoryLock();
    const lease = await lock.acquire('k', { ttl: 5_000 });
    await lease.release();
    // diagnostics_channel rethrows a subscriber error as an uncaught exception: it must not happen.
    channel('switchyard:discovery:resync').publish(null);
    channel('switchyard:lease:lost').publish(undefined);
    await new Promise((resolve) => setImmediate(resolve));
    expect(m.records).toEqual([]);
  });

  it('records stale, recovered (with duration), resync with missed changes and errors per service', async () => {
    const m = fakeMeter();
    const t = fakeTracer();
    handle = instrumentSwitchyard({ meter: m.meter, tracer: t.tracer });
    const { backend, memory, clock, tick } = env();
    await memory.register(inst('a1'));
    const a2 = await memory.register(inst('a2'));
    await using client = createDiscoveryClient({
      backend,
      clock,
      resyncInterval: 0,
      backoff: { base: 1_000, max: 1_000 },
    });
    const w = client.watch('api')[Symbol.asyncIterator]();
    await w.next();

    backend.failWatch = true;
    backend.breakWatches();
    await w.next(); // the stale status event
    await a2.close();
    await memory.register(inst('a3'));
    await clock.advance(5_000);
    backend.failWatch = false;
    await clock.advance(1_000);
    await tick();
    await w.next(); // the resync

    const api = { 'switchyard.service': 'api' };
    expect(m.sum(OTEL_METRICS.discoveryStale, api)).toBe(1);
    expect(m.sum(OTEL_METRICS.discoveryRecovered, api)).toBe(1);
    expect(m.sum(OTEL_METRICS.discoveryResync, { ...api, 'switchyard.discovery.after_outage': true })).toBe(
      1,
    );
    expect(m.sum(OTEL_METRICS.discoveryMissedChanges, api)).toBe(2); // a2 removed, a3 added
    const [duration] = m.of(OTEL_METRICS.discoveryStaleDuration);
    expect(duration).toMatchObject({ kind: 'histogram', attributes: api });
    expect(duration?.value).toBeGreaterThanOrEqual(5);
    expect(
      m.sum(OTEL_METRICS.discoveryError, { ...api, 'switchyard.discovery.during': 'watch' }),
    ).toBeGreaterThan(0);
    expect(t.spans.map((s) => s.name)).toEqual(['switchyard.discovery.stale']);
    expect(t.spans[0]?.attributes).toEqual(api);
    expect(m.created.find((c) => c.name === OTEL_METRICS.discoveryStaleDuration)?.unit).toBe('s');
    await w.return?.();
  });

  it('records panic transitions with the service and whether the guard engaged', async () => {
    const m = fakeMeter();
    handle = instrumentSwitchyard({ meter: m.meter, tracer: false });
    const { memory } = env();
    await using client = createDiscoveryClient({ backend: memory, panicThreshold: 0.5 });
    const regs = await Promise.all(
      ['a', 'b', 'c'].map((id) => memory.register(inst(id, { service: 'pay' }))),
    );
    await client.resolve('pay');
    await regs[0]?.setHealth('critical');
    await regs[1]?.setHealth('critical');
    await expect
      .poll(() =>
        m.sum(OTEL_METRICS.discoveryPanic, {
          'switchyard.service': 'pay',
          'switchyard.discovery.panic.active': true,
        }),
      )
      .toBe(1);
    await regs[0]?.setHealth('passing');
    await expect
      .poll(() => m.sum(OTEL_METRICS.discoveryPanic, { 'switchyard.discovery.panic.active': false }))
      .toBe(1);
  });

  it('records registration loss (with a span) and restore per service', async () => {
    const m = fakeMeter();
    const t = fakeTracer();
    handle = instrumentSwitchyard({ meter: m.meter, tracer: t.tracer });
    const { backend, store, clock } = env();
    await using client = createDiscoveryClient({ backend, clock });
    await client.register(inst('me', { service: 'billing' }), { ttl: 3_000 });
    store.reset();
    await clock.advance(1_000);
    expect(m.sum(OTEL_METRICS.registrationLost, { 'switchyard.service': 'billing' })).toBe(1);
    expect(m.sum(OTEL_METRICS.registrationRestored, { 'switchyard.service': 'billing' })).toBe(1);
    expect(t.spans).toMatchObject([
      {
        name: 'switchyard.registration.lost',
        attributes: { 'switchyard.service': 'billing', 'switchyard.instance.id': 'me' },
        ended: true,
      },
    ]);
  });

  it('close() and Symbol.dispose unsubscribe everything; defaults come from the global API', async () => {
    const m = fakeMeter();
    const h = instrumentSwitchyard({ meter: m.meter, tracer: false });
    await using lock = createMemoryLock();
    await (await lock.acquire('k', { ttl: 5_000 })).release();
    expect(m.records).toHaveLength(2);
    h.close();
    expect(h.closed).toBe(true);
    h.close(); // idempotent
    await (await lock.acquire('k', { ttl: 5_000 })).release();
    expect(m.records).toHaveLength(2);

    const m2 = fakeMeter();
    {
      using _scoped = instrumentSwitchyard({ meter: m2.meter, tracer: false });
      await (await lock.acquire('k', { ttl: 5_000 })).release();
    }
    await (await lock.acquire('k', { ttl: 5_000 })).release();
    expect(m2.records).toHaveLength(2);

    // Without meter/tracer: the api's (here no-op) global providers are used, taken from `api`.
    const asked: string[] = [];
    const fromApi = instrumentSwitchyard({
      api: {
        metrics: {
          getMeter: (name) => {
            asked.push(`meter:${name}`);
            return m2.meter;
          },
        },
        trace: {
          getTracer: (name) => {
            asked.push(`tracer:${name}`);
            return fakeTracer().tracer;
          },
        },
      },
    });
    expect(asked).toEqual(['meter:@switchyard/core', 'tracer:@switchyard/core']);
    fromApi.close();
    using plain = instrumentSwitchyard();
    await (await lock.acquire('k', { ttl: 5_000 })).release();
    expect(plain.closed).toBe(false);
  });

  it('rejects a keyAttribute that is not a function', () => {
    expect(() => instrumentSwitchyard({ keyAttribute: 'orders' as never })).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT', field: 'keyAttribute' }),
    );
  });

  it('maps the load balancer breaker, ejection and retry-budget events to metrics (no instance ids)', () => {
    const m = fakeMeter();
    handle = instrumentSwitchyard({ meter: m.meter, tracer: false });
    const pub = (name: string, payload: object) =>
      channel(`switchyard:balancer:${name}`).publish({ ...payload, source: 'loadbalancer' });
    pub('breaker-changed', { service: 'api', id: 'a-1', state: 'open' });
    pub('breaker-changed', { service: 'api', id: undefined, state: 'open' });
    pub('breaker-changed', { service: 'api', id: 'a-1', state: 'half-open' });
    pub('ejected', { service: 'api', id: 'a-2', duration: 30_000 });
    pub('returned', { service: 'api', id: 'a-2' });
    pub('budget-exhausted', { service: 'api', kind: 'retry' });
    pub('budget-exhausted', { service: 'api', kind: 'hedge' });
    const breaker = OTEL_METRICS.balancerBreakerTransitions;
    expect(m.sum(breaker)).toBe(3);
    expect(m.sum(breaker, { 'switchyard.balancer.breaker.scope': 'service' })).toBe(1);
    expect(m.sum(breaker, { 'switchyard.balancer.breaker.state': 'open' })).toBe(2);
    expect(m.sum(OTEL_METRICS.balancerEjections, { 'switchyard.service': 'api' })).toBe(1);
    expect(m.of(OTEL_METRICS.balancerEjectionDuration).map((r) => r.value)).toEqual([30]);
    expect(m.sum(OTEL_METRICS.balancerReturns)).toBe(1);
    expect(m.sum(OTEL_METRICS.balancerBudgetExhausted, { 'switchyard.balancer.budget.kind': 'retry' })).toBe(
      1,
    );
    expect(m.sum(OTEL_METRICS.balancerBudgetExhausted)).toBe(2);
    for (const r of m.records) expect(Object.values(r.attributes)).not.toContain('a-1');
  });

  it('maps the cache events to metrics per cache, namespace and tier', () => {
    const m = fakeMeter();
    handle = instrumentSwitchyard({ meter: m.meter, tracer: false });
    const pub = (name: string, payload: object) =>
      channel(`switchyard:cache:${name}`).publish({ ...payload, source: 'cache' });
    const at = { cache: 'products', namespace: 'v1' };
    pub('hit', { ...at, key: 'a', tier: 0 });
    pub('hit', { ...at, key: 'b', tier: 1 });
    pub('miss', { ...at, key: 'c' });
    pub('stale', { ...at, key: 'a', reason: 'error' });
    pub('loaded', { ...at, key: 'c', duration: 250, negative: true });
    pub('error', { ...at, operation: 'set', error: new Error('down') });
    pub('evicted', { cache: 'products', key: 'x', reason: 'capacity' });
    pub('flush', { ...at, reason: 'gap', entries: 7 });
    const names = { 'switchyard.cache.name': 'products', 'switchyard.cache.namespace': 'v1' };
    expect(m.sum(OTEL_METRICS.cacheHits, names)).toBe(2);
    expect(m.sum(OTEL_METRICS.cacheHits, { 'switchyard.cache.tier': 1 })).toBe(1);
    expect(m.sum(OTEL_METRICS.cacheMisses, names)).toBe(1);
    expect(m.sum(OTEL_METRICS.cacheStale, { 'switchyard.cache.reason': 'error' })).toBe(1);
    expect(m.sum(OTEL_METRICS.cacheLoads, { 'switchyard.cache.negative': true })).toBe(1);
    expect(m.of(OTEL_METRICS.cacheLoadDuration).map((r) => r.value)).toEqual([0.25]);
    expect(m.sum(OTEL_METRICS.cacheErrors, { 'switchyard.cache.operation': 'set' })).toBe(1);
    expect(m.sum(OTEL_METRICS.cacheEvictions, { 'switchyard.cache.reason': 'capacity' })).toBe(1);
    expect(m.sum(OTEL_METRICS.cacheFlushes)).toBe(7);
    // Keys never become attributes.
    for (const r of m.records) expect(Object.values(r.attributes)).not.toContain('a');
  });
});

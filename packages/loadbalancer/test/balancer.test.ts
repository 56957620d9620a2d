import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import {
  createDiscoveryClient,
  createManualClock,
  createMemoryDiscovery,
  isSwitchyardError,
} from '@switchyard/core';
import { describe, expect, it } from 'vitest';
import { createBalancer, peakEwmaPicker, roundRobinPicker } from '../src/index.js';
import { fakeDiscovery, tick } from './fake-discovery.js';
import { expectCode, makeInstances, seededRandom, tally } from './fixtures.js';

describe('createBalancer', () => {
  it('validates options with INVALID_ARGUMENT naming the field', () => {
    const discovery = fakeDiscovery();
    expectCode(
      () => createBalancer({ discovery: {} as never, service: 'svc' }),
      'INVALID_ARGUMENT',
      'discovery',
    );
    expectCode(() => createBalancer({ discovery, service: '' }), 'INVALID_ARGUMENT', 'service');
    expectCode(
      () => createBalancer({ discovery, service: 'svc', panicThreshold: 2 }),
      'INVALID_ARGUMENT',
      'panicThreshold',
    );
    expectCode(
      () => createBalancer({ discovery, service: 'svc', breaker: { failureRate: 0 } }),
      'INVALID_ARGUMENT',
      'breaker.failureRate',
    );
    expectCode(
      () => createBalancer({ discovery, service: 'svc', outlierDetection: { maxEjectionPercent: 101 } }),
      'INVALID_ARGUMENT',
      'outlierDetection.maxEjectionPercent',
    );
    expectCode(
      () => createBalancer({ discovery, service: 'svc', retryBudget: { ratio: -1 } }),
      'INVALID_ARGUMENT',
      'retryBudget.ratio',
    );
  });

  it('throws NO_AVAILABLE_INSTANCE before the first snapshot and for an empty set', async () => {
    const discovery = fakeDiscovery([]);
    await using lb = createBalancer({ discovery, service: 'svc' });
    expectCode(() => lb.pick(), 'NO_AVAILABLE_INSTANCE');
    await lb.ready();
    const e = expectCode(() => lb.pick(), 'NO_AVAILABLE_INSTANCE') as Error;
    expect(e.message).toContain('"svc"');
  });

  it('follows the memory discovery watch: new instances appear, deregistered ones leave', async () => {
    const discovery = createMemoryDiscovery();
    const a = await discovery.register({ id: 'a', service: 'svc', address: '127.0.0.1', port: 1001 });
    await using lb = createBalancer({ discovery, service: 'svc', picker: roundRobinPicker() });
    await lb.ready();
    expect(lb.pick().instance.id).toBe('a');
    const b = await discovery.register({ id: 'b', service: 'svc', address: '127.0.0.1', port: 1002 });
    await tick();
    expect([...tally(lb, 10).keys()].sort()).toEqual(['a', 'b']);
    await a.close();
    await tick();
    expect([...tally(lb, 10).keys()]).toEqual(['b']);
    await b.close();
    await tick();
    expectCode(() => lb.pick(), 'NO_AVAILABLE_INSTANCE');
    await discovery.close();
  });

  it('accepts the core discovery client (same watch signature) as its source', async () => {
    const backend = createMemoryDiscovery();
    const client = createDiscoveryClient({ backend });
    const reg = await backend.register({ id: 'x', service: 'svc', address: '127.0.0.1', port: 1001 });
    await using lb = createBalancer({ discovery: client, service: 'svc' });
    await lb.ready();
    expect(lb.pick().instance.id).toBe('x');
    await backend.register({ id: 'y', service: 'svc', address: '127.0.0.1', port: 1002 });
    for (let i = 0; i < 50 && lb.instances().length < 2; i++) await tick();
    expect(
      lb
        .instances()
        .map((i) => i.id)
        .sort(),
    ).toEqual(['x', 'y']);
    await lb.close();
    await client.close();
    await reg.close();
    await backend.close();
  });

  it('close() rejects pending ready(), stops the watch and leaves no timer', async () => {
    const clock = createManualClock();
    const discovery = fakeDiscovery(makeInstances(3));
    const lb = createBalancer({ discovery, service: 'svc', clock, breaker: { consecutiveFailures: 1 } });
    await lb.ready();
    const h = lb.pick();
    h.report(false, 5);
    expect(clock.pendingTimers()).toBe(1);
    await lb.close();
    expect(clock.pendingTimers()).toBe(0);
    await tick();
    expect(discovery.watchers()).toBe(0);
    expectCode(() => lb.pick(), 'CLOSED');
  });
});

describe('pick handles, ready and watch restarts', () => {
  it('report validates input, counts once, and cancel releases without an outcome', async () => {
    const clock = createManualClock();
    await using lb = createBalancer({ discovery: fakeDiscovery(makeInstances(1)), service: 'svc', clock });
    await lb.ready();
    const h = lb.pick();
    expect(lb.stats()[0]?.inFlight).toBe(1);
    expectCode(() => h.report({ ok: true, latency: -1 }), 'INVALID_ARGUMENT', 'outcome.latency');
    expectCode(() => h.report('yes' as never), 'INVALID_ARGUMENT', 'outcome');
    h.report({ ok: false, latency: 12, error: 'status' });
    h.report(true, 1);
    expect(lb.stats()[0]).toMatchObject({ inFlight: 0, requests: 1, failures: 1, latency: 12 });
    const c = lb.pick();
    c.cancel();
    expect(lb.stats()[0]).toMatchObject({ inFlight: 0, failures: 1 });
  });

  it('ready() honours an abort signal', async () => {
    const never = {
      watch: () => ({ [Symbol.asyncIterator]: () => ({ next: () => new Promise<never>(() => {}) }) }),
    };
    await using lb = createBalancer({ discovery: never, service: 'svc' });
    const ac = new AbortController();
    const p = lb.ready({ signal: ac.signal });
    ac.abort();
    await expect(p).rejects.toSatisfy((e) => isSwitchyardError(e, 'ABORTED'));
  });

  it('re-watches with backoff when the watch stream fails, and reports the error', async () => {
    const clock = createManualClock();
    let calls = 0;
    const inner = fakeDiscovery(makeInstances(2));
    const flaky = {
      watch: (service: string, options?: { signal?: AbortSignal }) => {
        calls++;
        if (calls === 1) throw new Error('backend down');
        return inner.watch(service, options);
      },
    };
    await using lb = createBalancer({
      discovery: flaky,
      service: 'svc',
      clock,
      watchBackoff: { base: 100, max: 100 },
    });
    const errors: unknown[] = [];
    lb.on('balancer:watch-error', (e) => errors.push(e.error));
    await tick();
    expect(errors).toHaveLength(1);
    expectCode(() => lb.pick(), 'NO_AVAILABLE_INSTANCE');
    await clock.advance(100);
    await lb.ready();
    expect(calls).toBe(2);
    expect(lb.instances()).toHaveLength(2);
  });
});

describe('per-instance breaker, outlier ejection, slow start', () => {
  it('opens after consecutive failures, half-opens with exactly the allowed probes, then closes', async () => {
    const clock = createManualClock();
    const discovery = fakeDiscovery(makeInstances(2));
    await using lb = createBalancer({
      discovery,
      service: 'svc',
      clock,
      picker: roundRobinPicker(),
      random: seededRandom(1),
      outlierDetection: false,
      panicThreshold: 0,
      breaker: { consecutiveFailures: 3, openDuration: 1000, halfOpenProbes: 2 },
    });
    await lb.ready();
    const states: string[] = [];
    lb.on('balancer:breaker-changed', (e) => states.push(`${e.id}:${e.state}`));
    const published: unknown[] = [];
    const onPublish = (m: unknown) => published.push(m);
    subscribe('switchyard:balancer:breaker-changed', onPublish);
    let failures = 0;
    while (failures < 3) {
      const h = lb.pick();
      if (h.instance.id === 'host-0') {
        h.report(false, 1);
        failures++;
      } else h.report(true, 1);
    }
    expect(states).toEqual(['host-0:open']);
    expect([...tally(lb, 20).keys()]).toEqual(['host-1']);
    await clock.advance(1000);
    expect(states).toEqual(['host-0:open', 'host-0:half-open']);
    const held = [];
    for (let i = 0; i < 20; i++) held.push(lb.pick());
    const probes = held.filter((h) => h.instance.id === 'host-0');
    expect(probes).toHaveLength(2);
    for (const h of held) h.report(true, 1);
    expect(states.at(-1)).toBe('host-0:closed');
    expect(tally(lb, 20).get('host-0')).toBe(10);
    unsubscribe('switchyard:balancer:breaker-changed', onPublish);
    expect(published).toContainEqual({ service: 'svc', id: 'host-0', state: 'open', source: 'loadbalancer' });
  });

  it('ejects outliers with growing ejection time and a cap on the ejected fraction', async () => {
    const clock = createManualClock();
    const discovery = fakeDiscovery(makeInstances(10));
    await using lb = createBalancer({
      discovery,
      service: 'svc',
      clock,
      breaker: false,
      picker: roundRobinPicker(),
      outlierDetection: { consecutiveFailures: 2, baseEjectionTime: 1000, maxEjectionPercent: 10 },
    });
    await lb.ready();
    const ejected: [string, number][] = [];
    lb.on('balancer:ejected', (e) => ejected.push([e.id, e.duration]));
    for (let i = 0; i < 40; i++) lb.pick().report(false, 1);
    expect(ejected).toHaveLength(1);
    const [id] = ejected[0] as [string, number];
    expect(tally(lb, 50).get(id)).toBeUndefined();
    await clock.advance(1000);
    expect(tally(lb, 50).get(id)).toBe(5);
    for (let i = 0; i < 40 && ejected.length < 2; i++) {
      const h = lb.pick();
      h.report(h.instance.id !== id, 1);
    }
    expect(ejected[1]).toEqual([id, 2000]);
  });

  it('ramps a new instance weight up during slow start', async () => {
    const clock = createManualClock();
    const discovery = fakeDiscovery(makeInstances(2));
    await using lb = createBalancer({
      discovery,
      service: 'svc',
      clock,
      picker: roundRobinPicker(),
      slowStart: { window: 10_000, minWeightPercent: 10 },
    });
    await lb.ready();
    discovery.set(makeInstances(3));
    await tick();
    const share = () => (tally(lb, 2100).get('host-2') ?? 0) / 2100;
    expect(share()).toBeLessThan(0.06);
    await clock.advance(5000);
    expect(share()).toBeGreaterThan(0.15);
    expect(share()).toBeLessThan(0.25);
    await clock.advance(6000);
    expect(share()).toBeCloseTo(1 / 3, 1);
    expect(lb.stats().find((s) => s.id === 'host-2')?.weightFactor).toBe(1);
  });
});

describe('peak EWMA through the balancer', () => {
  it('steers away from a slow instance and lets it back in as its latency decays', async () => {
    const clock = createManualClock();
    await using lb = createBalancer({
      discovery: fakeDiscovery(makeInstances(3)),
      service: 'svc',
      clock,
      random: seededRandom(11),
      picker: peakEwmaPicker(),
      ewmaDecay: 1000,
    });
    await lb.ready();
    for (let i = 0; i < 30; i++) {
      const h = lb.pick();
      h.report(true, h.instance.id === 'host-0' ? 500 : 5);
    }
    const before = tally(lb, 300);
    expect(before.get('host-0') ?? 0).toBe(0);
    await clock.advance(20_000);
    const t = new Map<string, number>();
    for (let i = 0; i < 300; i++) {
      const h = lb.pick();
      t.set(h.instance.id, (t.get(h.instance.id) ?? 0) + 1);
    }
    expect(t.get('host-0') ?? 0).toBeGreaterThan(0);
  });
});

describe('service breaker and adaptive throttling', () => {
  it('service breaker fails fast with CIRCUIT_OPEN', async () => {
    const clock = createManualClock();
    await using lb = createBalancer({
      discovery: fakeDiscovery(makeInstances(3)),
      service: 'svc',
      clock,
      breaker: false,
      outlierDetection: false,
      serviceBreaker: { consecutiveFailures: 4, openDuration: 500 },
    });
    await lb.ready();
    for (let i = 0; i < 4; i++) lb.pick().report(false, 1);
    expectCode(() => lb.pick(), 'CIRCUIT_OPEN');
    await clock.advance(500);
    const probe = lb.pick();
    expectCode(() => lb.pick(), 'CIRCUIT_OPEN');
    probe.report(true, 1);
    lb.pick().report(true, 1);
  });

  it('adaptive throttling sheds load when the backend rejects most requests', async () => {
    const clock = createManualClock();
    await using lb = createBalancer({
      discovery: fakeDiscovery(makeInstances(3)),
      service: 'svc',
      clock,
      random: seededRandom(9),
      breaker: false,
      outlierDetection: false,
      adaptiveThrottle: { k: 1.5 },
    });
    await lb.ready();
    let rejected = 0;
    for (let i = 0; i < 1000; i++) {
      try {
        lb.pick().report(i % 10 === 0, 1);
      } catch (e) {
        if (!isSwitchyardError(e, 'CIRCUIT_OPEN')) throw e;
        rejected++;
      }
    }
    expect(rejected).toBeGreaterThan(500);
  });
});

describe('retries and hedges avoid instances already tried', () => {
  it('re-draws when the pick is in the avoid set', async () => {
    await using lb = createBalancer({
      discovery: fakeDiscovery(makeInstances(3)),
      service: 'svc',
      random: seededRandom(2),
    });
    await lb.ready();
    for (let i = 0; i < 200; i++) {
      const avoid = new Set([`host-${i % 3}`]);
      const h = lb.pick(undefined, avoid);
      expect(avoid.has(h.instance.id)).toBe(false);
      h.report(true, 1);
    }
    const all = new Set(['host-0', 'host-1', 'host-2']);
    const h = lb.pick(undefined, all);
    expect(all.has(h.instance.id)).toBe(true);
  });
});

import {
  createManualClock,
  createMemoryDiscovery,
  createMemoryRulesSource,
  isSwitchyardError,
} from '@switchyard/core';
import { describe, expect, it } from 'vitest';
import { createBalancer, ringHashPicker, roundRobinPicker } from '../src/index.js';
import { fakeDiscovery, tick } from './fake-discovery.js';
import { makeInstances, seededRandom } from './fixtures.js';

function expectCode(fn: () => unknown, code: string, field?: string) {
  try {
    fn();
  } catch (e) {
    expect(isSwitchyardError(e)).toBe(true);
    expect((e as { code: string }).code).toBe(code);
    if (field) expect((e as { field?: string }).field).toBe(field);
    return e;
  }
  throw new Error(`expected ${code}`);
}

function tally(
  balancer: { pick: (c?: object) => { instance: { id: string }; report: (ok: boolean, l?: number) => void } },
  n: number,
  ctx?: (i: number) => object,
) {
  const m = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const h = balancer.pick(ctx?.(i));
    m.set(h.instance.id, (m.get(h.instance.id) ?? 0) + 1);
    h.report(true, 1);
  }
  return m;
}

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
    lb.on('watch:error', (e) => errors.push(e.error));
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
    lb.on('breaker:changed', (e) => states.push(`${e.id}:${e.state}`));
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
    lb.on('endpoint:ejected', (e) => ejected.push([e.id, e.duration]));
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

describe('locality, panic, stickiness', () => {
  const zoned = () =>
    makeInstances(
      6,
      () => 1,
      (i) => ({ zone: i < 3 ? 'a' : i < 5 ? 'b' : 'c', region: i < 5 ? 'r1' : 'r2' }),
    );

  it('prefers the caller zone and spills over in proportion when it is unhealthy', async () => {
    const clock = createManualClock();
    await using lb = createBalancer({
      discovery: fakeDiscovery(zoned()),
      service: 'svc',
      clock,
      random: seededRandom(3),
      picker: roundRobinPicker(),
      locality: { zone: 'a', region: 'r1' },
      outlierDetection: false,
      panicThreshold: 0.3,
      breaker: { consecutiveFailures: 1, openDuration: 60_000 },
    });
    await lb.ready();
    expect([...tally(lb, 30).keys()].sort()).toEqual(['host-0', 'host-1', 'host-2']);
    for (const id of ['host-0', 'host-1']) {
      for (;;) {
        const h = lb.pick();
        const hit = h.instance.id === id;
        h.report(!hit, 1);
        if (hit) break;
      }
    }
    const t = tally(lb, 10_000);
    const local = (t.get('host-2') ?? 0) / 10_000;
    expect(local).toBeGreaterThan(0.42);
    expect(local).toBeLessThan(0.52);
    expect((t.get('host-3') ?? 0) + (t.get('host-4') ?? 0)).toBeGreaterThan(5000);
    expect(t.get('host-5')).toBeUndefined();
  });

  it('uses the pick context zone/region for callers in other localities', async () => {
    await using lb = createBalancer({
      discovery: fakeDiscovery(zoned()),
      service: 'svc',
      random: seededRandom(4),
      picker: roundRobinPicker(),
      locality: { zone: 'a', region: 'r1' },
    });
    await lb.ready();
    expect([...tally(lb, 30, () => ({ zone: 'b', region: 'r1' })).keys()].sort()).toEqual([
      'host-3',
      'host-4',
    ]);
    expect([...tally(lb, 30, () => ({ zone: 'c', region: 'r2' })).keys()]).toEqual(['host-5']);
    expect([...tally(lb, 30, () => ({ zone: 'a', region: 'r1' })).keys()].sort()).toEqual([
      'host-0',
      'host-1',
      'host-2',
    ]);
    expect([...tally(lb, 30).keys()].sort()).toEqual(['host-0', 'host-1', 'host-2']);
  });

  it('panics (uses every instance) below the panic threshold', async () => {
    const clock = createManualClock();
    await using lb = createBalancer({
      discovery: fakeDiscovery(makeInstances(4)),
      service: 'svc',
      clock,
      picker: roundRobinPicker(),
      outlierDetection: false,
      panicThreshold: 0.5,
      breaker: { consecutiveFailures: 1, openDuration: 60_000 },
    });
    await lb.ready();
    for (let i = 0; i < 2; i++) lb.pick().report(false, 1);
    expect(tally(lb, 40).size).toBe(2);
    lb.pick().report(false, 1);
    expect(tally(lb, 40).size).toBe(4);
  });

  it('sticky keys stay on their instance; only the keys of a leaving instance move', async () => {
    const discovery = fakeDiscovery(makeInstances(5));
    await using lb = createBalancer({ discovery, service: 'svc', sticky: true, random: seededRandom(5) });
    await lb.ready();
    const first = new Map<string, string>();
    for (let k = 0; k < 300; k++) {
      const h = lb.pick({ key: `user-${k}` });
      first.set(`user-${k}`, h.instance.id);
      h.report(true, 1);
    }
    discovery.set(makeInstances(5).filter((i) => i.id !== 'host-2'));
    await tick();
    for (const [key, id] of first) {
      const h = lb.pick({ key });
      h.report(true, 1);
      if (id === 'host-2') expect(h.instance.id).not.toBe('host-2');
      else expect(h.instance.id).toBe(id);
    }
  });
});

describe('traffic rules', () => {
  const grouped = () =>
    makeInstances(
      4,
      () => 1,
      (i) => ({ tags: [i < 3 ? 'stable' : 'canary'], address: `10.0.0.${i < 2 ? 1 : 2}` }),
    );

  it('splits traffic 90/10 between weighted groups and sends allow-listed callers to the canary', async () => {
    const rules = createMemoryRulesSource({
      routes: [
        {
          service: 'svc',
          groups: [
            { name: 'stable', weight: 90, match: { tags: ['stable'] } },
            { name: 'canary', weight: 10, match: { tags: ['canary'] } },
          ],
          canary: { group: 'canary', callerIps: ['192.168.1.7'], keys: ['beta-user'] },
        },
      ],
    });
    await using lb = createBalancer({
      discovery: fakeDiscovery(grouped()),
      service: 'svc',
      rules,
      random: seededRandom(7),
    });
    await lb.ready();
    const t = tally(lb, 20_000);
    expect((t.get('host-3') ?? 0) / 20_000).toBeGreaterThan(0.08);
    expect((t.get('host-3') ?? 0) / 20_000).toBeLessThan(0.12);
    expect(lb.pick({ callerIp: '192.168.1.7' }).instance.id).toBe('host-3');
    expect(lb.pick({ key: 'beta-user' }).instance.id).toBe('host-3');
    const u = lb.pick({ key: 'user-1' }).instance.id;
    for (let i = 0; i < 20; i++)
      expect(lb.pick({ key: 'user-1' }).instance.tags).toEqual(u === 'host-3' ? ['canary'] : ['stable']);
  });

  it('applies instance, server and zone pull-outs live', async () => {
    const rules = createMemoryRulesSource();
    const instances = grouped().map((i, k) => ({ ...i, zone: k === 3 ? 'z2' : 'z1' }));
    await using lb = createBalancer({
      discovery: fakeDiscovery(instances),
      service: 'svc',
      rules,
      picker: ringHashPicker(),
    });
    await lb.ready();
    expect(tally(lb, 200).size).toBe(4);
    rules.set({ pulledInstances: [{ service: 'svc', id: 'host-0' }] });
    expect([...tally(lb, 200).keys()].sort()).toEqual(['host-1', 'host-2', 'host-3']);
    rules.set({ pulledServers: ['10.0.0.2'] });
    expect([...tally(lb, 200).keys()].sort()).toEqual(['host-0', 'host-1']);
    rules.set({ pulledZones: [{ zone: 'z1' }] });
    expect([...tally(lb, 200).keys()]).toEqual(['host-3']);
    rules.set({ pulledZones: [{ zone: 'z1', service: 'other' }] });
    expect(lb.instances()).toHaveLength(4);
  });
});

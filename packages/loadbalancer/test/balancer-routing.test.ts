import { createDiscoveryClient, createManualClock, createMemoryRulesSource } from '@switchyard/core';
import { describe, expect, it } from 'vitest';
import { createBalancer, ringHashPicker, roundRobinPicker } from '../src/index.js';
import { fakeDiscovery, memoryBackend, tick } from './fake-discovery.js';
import { expectCode, makeInstances, seededRandom, tally } from './fixtures.js';

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
      discovery: await memoryBackend(grouped()),
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

  it('applies instance, server and zone pull-outs live: a raw backend given rules is wrapped in a discovery client', async () => {
    const rules = createMemoryRulesSource();
    const instances = grouped().map((i, k) => ({ ...i, zone: k === 3 ? 'z2' : 'z1' }));
    await using lb = createBalancer({
      discovery: await memoryBackend(instances),
      service: 'svc',
      rules,
      picker: ringHashPicker(),
    });
    await lb.ready();
    const ids = () => lb.instances().map((i) => i.id);
    expect(tally(lb, 200).size).toBe(4);
    rules.set({ pulledInstances: [{ service: 'svc', id: 'host-0' }] });
    await expect.poll(ids).toEqual(['host-1', 'host-2', 'host-3']);
    expect([...tally(lb, 200).keys()].sort()).toEqual(['host-1', 'host-2', 'host-3']);
    rules.set({ pulledServers: ['10.0.0.2'] });
    await expect.poll(ids).toEqual(['host-0', 'host-1']);
    expect([...tally(lb, 200).keys()].sort()).toEqual(['host-0', 'host-1']);
    rules.set({ pulledZones: [{ zone: 'z1' }] });
    await expect.poll(ids).toEqual(['host-3']);
    expect([...tally(lb, 200).keys()]).toEqual(['host-3']);
    rules.set({ pulledZones: [{ zone: 'z1', service: 'other' }] });
    await expect.poll(() => lb.instances()).toHaveLength(4);
  });

  it('rebuilds the plan once per pull-out when a discovery client and the balancer share the rules (the demo wiring)', async () => {
    const rules = createMemoryRulesSource();
    const backend = await memoryBackend(makeInstances(3));
    await using discovery = createDiscoveryClient({ backend, rules });
    await using lb = createBalancer({ discovery, service: 'svc', rules });
    await lb.ready();
    let rebuilds = 0;
    lb.on('balancer:instances-changed', () => rebuilds++);
    rules.set({ pulledInstances: [{ service: 'svc', id: 'host-1' }] });
    await expect.poll(() => lb.instances().length).toBe(2);
    await tick();
    expect(rebuilds).toBe(1);
    rules.set({});
    await expect.poll(() => lb.instances().length).toBe(3);
    await tick();
    expect(rebuilds).toBe(2);
    // A route change is the balancer's alone: one rebuild, no discovery event.
    rules.set({ routes: [{ service: 'svc', groups: [{ name: 'all', weight: 1, match: {} }] }] });
    await tick();
    expect(rebuilds).toBe(3);
  });

  it('rejects rules with a bare watch source (nothing could apply the pull-outs)', () => {
    expectCode(
      () =>
        createBalancer({ discovery: fakeDiscovery([]), service: 'svc', rules: createMemoryRulesSource() }),
      'INVALID_ARGUMENT',
      'rules',
    );
  });
});

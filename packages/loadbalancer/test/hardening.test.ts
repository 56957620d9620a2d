import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { createManualClock } from '@switchyard/core';
import { describe, expect, it } from 'vitest';
import {
  boundedLoadPicker,
  createBalancer,
  jumpHashPicker,
  leastRequestPicker,
  maglevPicker,
  murmur3String,
  peakEwmaPicker,
  rendezvousPicker,
  ringHashPicker,
  roundRobinPicker,
} from '../src/index.js';
import { fakeDiscovery, tick } from './fake-discovery.js';
import { counts, expectCode, makeInstances, seededRandom } from './fixtures.js';
import { ALL_PICKERS, HASH_PICKERS } from './picker-list.js';

// Weights 1, 2, 4 × 5: total 23, so the weight-1 host's share is 4.35 % and a weight-4 host's 17.4 %.
const WEIGHTS = [1, 2, 4, 4, 4, 4, 4];
const TOTAL = WEIGHTS.reduce((a, b) => a + b, 0);

describe('least-request and peak-EWMA P2C honour weights', () => {
  for (const [name, make] of [
    ['least-request', () => leastRequestPicker()],
    ['peak-ewma', () => peakEwmaPicker()],
  ] as const) {
    it(`${name}: with nothing in flight, shares follow weights (was 0.4 % / 30 % for weights 1 / 4)`, () => {
      const instances = makeInstances(WEIGHTS.length, (i) => WEIGHTS[i] as number);
      const picker = make()(instances, {
        random: seededRandom(3),
        loadOf: () => 0,
        latencyOf: () => 5,
      });
      const N = 100_000;
      const c = counts(Array.from({ length: N }, () => picker.pick()));
      WEIGHTS.forEach((w, i) => {
        expect(Math.abs((c.get(`host-${i}`) ?? 0) / N - w / TOTAL)).toBeLessThan(0.01);
      });
    });

    it(`${name}: with 10 requests in flight (equal service time), shares stay within 1.5 points of the weights (was 3.5 off)`, () => {
      const instances = makeInstances(WEIGHTS.length, (i) => WEIGHTS[i] as number);
      const load = new Int32Array(WEIGHTS.length);
      const picker = make()(instances, {
        random: seededRandom(11),
        loadOf: (_, i) => load[i] as number,
        latencyOf: () => 5,
      });
      const queue: number[] = [];
      const N = 100_000;
      const picked = new Int32Array(WEIGHTS.length);
      const finish = seededRandom(99);
      for (let k = 0; k < N; k++) {
        // Ten in flight; a random one completes (memoryless service times, the same on every host).
        if (queue.length === 10) {
          const done = queue.splice(Math.floor(finish() * 10), 1)[0] as number;
          load[done] = (load[done] as number) - 1;
        }
        const i = Number((picker.pick() as { id: string }).id.slice(5));
        load[i] = (load[i] as number) + 1;
        picked[i] = (picked[i] as number) + 1;
        queue.push(i);
      }
      WEIGHTS.forEach((w, i) => {
        expect(Math.abs((picked[i] as number) / N - w / TOTAL)).toBeLessThan(0.015);
      });
    });
  }

  it('slow start works under least-request: a new host gets traffic from the start of its ramp', async () => {
    const clock = createManualClock();
    const discovery = fakeDiscovery(makeInstances(4));
    await using lb = createBalancer({
      discovery,
      service: 'svc',
      clock,
      random: seededRandom(5),
      slowStart: { window: 10_000, minWeightPercent: 10 },
    });
    await lb.ready();
    discovery.set(makeInstances(5));
    await tick();
    await clock.advance(1_000); // 10 % into the window: was 0 % for the first 40 %
    const tally = new Map<string, number>();
    for (let i = 0; i < 20_000; i++) {
      const h = lb.pick();
      tally.set(h.instance.id, (tally.get(h.instance.id) ?? 0) + 1);
      h.report(true, 1);
    }
    const share = (tally.get('host-4') ?? 0) / 20_000;
    expect(share).toBeGreaterThan(0.01);
    expect(share).toBeLessThan(0.2);
  });
});

describe('keys that are not strings', () => {
  for (const [name, make] of HASH_PICKERS) {
    it(`${name}: 1,000 numeric ids spread over the hosts like their strings (was: all on one host)`, () => {
      const picker = make()(makeInstances(10));
      const hosts = new Set<string>();
      for (let id = 0; id < 1000; id++) {
        const a = picker.pick({ key: id as unknown as string });
        expect(a?.id).toBe(picker.pick({ key: String(id) })?.id);
        hosts.add(a?.id as string);
      }
      expect(hosts.size).toBeGreaterThanOrEqual(9);
      for (const bad of [null, [1], { id: 1 }, Number.NaN]) {
        expectCode(() => picker.pick({ key: bad as unknown as string }), 'INVALID_ARGUMENT', 'context.key');
      }
      expectCode(() => picker.pick({ hash: 'x' as unknown as number }), 'INVALID_ARGUMENT', 'context.hash');
    });
  }

  it('the balancer treats 42 and "42" as one key (hash picker, stickiness, canary) and rejects null', async () => {
    await using lb = createBalancer({
      discovery: fakeDiscovery(makeInstances(10)),
      service: 'svc',
      picker: maglevPicker(),
      sticky: true,
    });
    await lb.ready();
    const hosts = new Set<string>();
    for (let id = 0; id < 500; id++) {
      const h = lb.pick({ key: id as unknown as string });
      expect(h.instance.id).toBe(lb.pick({ key: String(id) }).instance.id);
      hosts.add(h.instance.id);
    }
    expect(hosts.size).toBeGreaterThanOrEqual(9);
    expectCode(() => lb.pick({ key: null as unknown as string }), 'INVALID_ARGUMENT', 'context.key');
  });

  it('murmur3String rejects a non-string instead of hashing it like ""', () => {
    expect(murmur3String('')).not.toBe(murmur3String('42'));
    expectCode(() => murmur3String(42 as unknown as string), 'INVALID_ARGUMENT', 's');
    expectCode(() => murmur3String(null as unknown as string), 'INVALID_ARGUMENT', 's');
  });
});

describe('picker configs are checked', () => {
  const cases: [() => unknown, string][] = [
    [() => maglevPicker({ hashKeyMetadata: 7 as unknown as string }), 'maglev.hashKeyMetadata'],
    [() => rendezvousPicker({ hashKeyMetadata: '' }), 'rendezvous.hashKeyMetadata'],
    [() => jumpHashPicker({ shardMetadata: null as unknown as string }), 'jumpHash.shardMetadata'],
    [() => ringHashPicker({ vnode: 10 } as never), 'ringHash.vnode'],
    [() => boundedLoadPicker({ epsilon: '0.5' as unknown as number }), 'boundedLoad.epsilon'],
    [() => leastRequestPicker({ choices: '2' as unknown as number }), 'leastRequest.choices'],
    [() => peakEwmaPicker('fast' as never), 'peakEwma'],
  ];
  for (const [make, field] of cases) {
    it(`INVALID_ARGUMENT naming ${field}`, () => expectCode(make, 'INVALID_ARGUMENT', field));
  }
});

describe('a broken injected random source', () => {
  for (const [name, make] of ALL_PICKERS) {
    it(`${name}: random() returning 1, NaN, -1 or Infinity still picks an eligible host`, () => {
      for (const r of [1, Number.NaN, -1, Number.POSITIVE_INFINITY, 0.999_999_999_999]) {
        const instances = makeInstances(5, (i) => 1 + (i % 3));
        const picker = make()(instances, { random: () => r, isEligible: (_, i) => i !== 2 });
        for (let k = 0; k < 20; k++) {
          const p = picker.pick();
          expect(p, `random() = ${r}`).toBeDefined();
          expect(p?.id).not.toBe('host-2');
        }
      }
    });
  }

  it('the balancer with random() = 1 (groups, throttle, pickers) picks normally', async () => {
    await using lb = createBalancer({
      discovery: fakeDiscovery(makeInstances(3)),
      service: 'svc',
      random: () => 1,
      adaptiveThrottle: {},
    });
    await lb.ready();
    for (let i = 0; i < 50; i++) lb.pick().report(true, 1);
  });
});

describe('every option checked synchronously at construction', () => {
  const discovery = fakeDiscovery(makeInstances(2));
  const bad: [Record<string, unknown>, string][] = [
    [{ watchBackoff: { base: 0 } }, 'watchBackoff.base'],
    [{ watchBackoff: { base: -1 } }, 'watchBackoff.base'],
    [{ watchBackoff: { base: 100, max: 10 } }, 'watchBackoff.max'],
    [{ watchBackoff: { bse: 1 } }, 'watchBackoff.bse'],
    [{ stickey: true }, 'stickey'],
    [{ panicTreshold: 0.2 }, 'panicTreshold'],
    [{ circuitBreaker: {} }, 'circuitBreaker'],
    [{ sticky: 'yes' }, 'sticky'],
    [{ sticky: { maxKeys: 0 } }, 'sticky.maxKeys'],
    [{ breaker: 'on' }, 'breaker'],
    [{ breaker: { failureRat: 0.5 } }, 'breaker.failureRat'],
    [{ serviceBreaker: { halfOpenProbes: 1.5 } }, 'serviceBreaker.halfOpenProbes'],
    [{ outlierDetection: true }, 'outlierDetection'],
    [{ slowStart: { window: -5 } }, 'slowStart.window'],
    [{ adaptiveThrottle: { k: 0.5 } }, 'adaptiveThrottle.k'],
    [{ retryBudget: { mode: 'lots' } }, 'retryBudget.mode'],
    [{ retryBudget: { ratio: '1' } }, 'retryBudget.ratio'],
    [{ clock: {} }, 'clock'],
    [{ random: 0.5 }, 'random'],
    [{ picker: 'least-request' }, 'picker'],
    [{ rules: {} }, 'rules'],
    [{ locality: { zone: 1 } }, 'locality.zone'],
    [{ locality: { overprovisioning: 0 } }, 'locality.overprovisioning'],
    [{ ewmaDecay: Number.NaN }, 'ewmaDecay'],
    [{ callerIp: '' }, 'callerIp'],
    [{ filter: { health: 'great' } }, 'filter.health'],
  ];
  for (const [extra, field] of bad) {
    it(`${JSON.stringify(extra)} → INVALID_ARGUMENT naming ${field}`, () => {
      expectCode(() => createBalancer({ discovery, service: 'svc', ...extra }), 'INVALID_ARGUMENT', field);
    });
  }

  it('suggests the nearest option name for a typo', () => {
    const e = expectCode(
      () => createBalancer({ discovery, service: 'svc', stickey: true } as never),
      'INVALID_ARGUMENT',
      'stickey',
    ) as Error;
    expect(e.message).toContain('"sticky"');
  });

  it('ready() with a signal that is not an AbortSignal rejects with INVALID_ARGUMENT naming signal', async () => {
    await using lb = createBalancer({ discovery, service: 'svc' });
    await expect(lb.ready({ signal: {} as AbortSignal })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
      field: 'signal',
    });
    await expect(lb.ready({ sygnal: 1 } as never)).rejects.toMatchObject({ field: 'sygnal' });
    await lb.ready({ signal: new AbortController().signal });
  });
});

describe("the balancer's events are balancer:*", () => {
  it('publishes switchyard:balancer:* on diagnostics_channel with source', async () => {
    const seen: string[] = [];
    const names = ['instances-changed', 'ejected', 'breaker-changed'].map((n) => `switchyard:balancer:${n}`);
    const fns = names.map((name) => {
      const fn = (m: unknown) => seen.push(`${name}:${(m as { source: string }).source}`);
      subscribe(name, fn);
      return fn;
    });
    try {
      const clock = createManualClock();
      await using lb = createBalancer({
        discovery: fakeDiscovery(makeInstances(3)),
        service: 'svc',
        clock,
        picker: roundRobinPicker(),
        outlierDetection: { consecutiveFailures: 2, maxEjectionPercent: 50 },
        breaker: { consecutiveFailures: 3 },
      });
      await lb.ready();
      for (let i = 0; i < 30; i++) {
        const h = lb.pick();
        h.report(h.instance.id !== 'host-0', 1);
      }
      expect(seen).toContain('switchyard:balancer:instances-changed:loadbalancer');
      expect(seen).toContain('switchyard:balancer:ejected:loadbalancer');
    } finally {
      names.forEach((name, i) => unsubscribe(name, fns[i] as (m: unknown) => void));
    }
  });
});

import { createManualClock, isSwitchyardError } from '@switchyard/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  createBalancer,
  maglevPicker,
  rendezvousPicker,
  roundRobinPicker,
  weightedRandomPicker,
} from '../src/index.js';
import { CircuitBreaker, resolveBreakerOptions } from '../src/resilience/circuit-breaker.js';
import { RetryBudget } from '../src/resilience/retry-budget.js';
import { fakeDiscovery, tick } from './fake-discovery.js';
import { makeInstances, seededRandom } from './fixtures.js';

type Op = { t: 'advance'; ms: number } | { t: 'acquire' } | { t: 'settle'; which: number; ok: boolean };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ t: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 3000 }) }),
  fc.record({ t: fc.constant('acquire' as const) }),
  fc.record({ t: fc.constant('settle' as const), which: fc.nat(), ok: fc.boolean() }),
);

describe('circuit breaker state machine', () => {
  it('never admits more concurrent half-open probes than allowed, and nothing while open', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 1, max: 5 }),
        fc.array(opArb, { maxLength: 300 }),
        (probes, consecutive, ops) => {
          const b = new CircuitBreaker(
            resolveBreakerOptions('breaker', {
              halfOpenProbes: probes,
              consecutiveFailures: consecutive,
              openDuration: 1000,
              maxOpenDuration: 8000,
            }),
          );
          let now = 0;
          const outstanding: { probe: boolean }[] = [];
          for (const op of ops) {
            if (op.t === 'advance') now += op.ms;
            else if (op.t === 'acquire') {
              const before = b.state;
              b.refresh(now);
              const stateAtAdmit = b.state;
              const ok = b.tryAcquire(now);
              if (before === 'open' && stateAtAdmit === 'open') expect(ok).toBe(false);
              if (ok) outstanding.push({ probe: stateAtAdmit === 'half-open' });
            } else if (outstanding.length > 0) {
              const [req] = outstanding.splice(op.which % outstanding.length, 1);
              b.record(op.ok, now, req?.probe ?? false);
            }
            if (b.state === 'half-open') {
              expect(b.probesInFlight).toBeLessThanOrEqual(probes);
              expect(outstanding.filter((o) => o.probe).length).toBeGreaterThanOrEqual(b.probesInFlight);
            }
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('the balancer never hands out more probes than allowed to a half-open instance', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 5, max: 60 }),
        async (probes, picks) => {
          const clock = createManualClock();
          await using lb = createBalancer({
            discovery: fakeDiscovery(makeInstances(3)),
            service: 'svc',
            clock,
            picker: roundRobinPicker(),
            outlierDetection: false,
            panicThreshold: 0,
            breaker: { consecutiveFailures: 1, openDuration: 100, halfOpenProbes: probes },
          });
          await lb.ready();
          for (;;) {
            const h = lb.pick();
            h.report(h.instance.id !== 'host-0', 1);
            if (h.instance.id === 'host-0') break;
          }
          await clock.advance(100);
          const held = Array.from({ length: picks }, () => lb.pick());
          expect(held.filter((h) => h.instance.id === 'host-0').length).toBeLessThanOrEqual(probes);
          for (const h of held) h.report(true, 1);
        },
      ),
      { numRuns: 30 },
    );
  });
});

describe('stickiness', () => {
  it('sticky keys stay put while their instance is healthy, whatever the picker', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 2, max: 12 }),
        fc.array(fc.string({ minLength: 1, maxLength: 12 }), { minLength: 1, maxLength: 80 }),
        fc.nat(),
        async (n, keys, leave) => {
          const discovery = fakeDiscovery(makeInstances(n));
          await using lb = createBalancer({
            discovery,
            service: 'svc',
            sticky: true,
            picker: weightedRandomPicker(),
            random: seededRandom(n),
          });
          await lb.ready();
          const first = new Map(keys.map((k) => [k, lb.pick({ key: k }).instance.id]));
          for (const [k, id] of first) expect(lb.pick({ key: k }).instance.id).toBe(id);
          const gone = `host-${leave % n}`;
          discovery.set(makeInstances(n).filter((i) => i.id !== gone));
          await tick();
          for (const [k, id] of first) {
            const now = lb.pick({ key: k }).instance.id;
            if (id === gone) expect(now).not.toBe(gone);
            else expect(now).toBe(id);
          }
        },
      ),
      { numRuns: 40 },
    );
  });
});

describe('typed errors for invalid input', () => {
  it('any invalid weight gives INVALID_ARGUMENT naming instances[i].weight', () => {
    const bad = fc.oneof(
      fc.double({ max: -Number.MIN_VALUE, noNaN: true }),
      fc.constant(Number.NaN),
      fc.constant(Number.POSITIVE_INFINITY),
      fc.constant('1' as unknown as number),
    );
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 6 }), fc.nat(), bad, (n, at, w) => {
        const idx = at % n;
        for (const make of [roundRobinPicker, weightedRandomPicker, maglevPicker, rendezvousPicker]) {
          try {
            make()(makeInstances(n), { weightOf: (inst, i) => (i === idx ? w : inst.weight) });
            return false;
          } catch (e) {
            expect(isSwitchyardError(e, 'INVALID_ARGUMENT')).toBe(true);
            expect((e as { field: string }).field).toBe(`instances[${idx}].weight`);
          }
        }
        return true;
      }),
      { numRuns: 100 },
    );
  });
});

describe('retry budget', () => {
  it('tokens mode: retries never exceed ratio × requests + reserve within the window', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.integer({ min: 0, max: 20 }),
        fc.array(fc.boolean(), { maxLength: 400 }),
        (ratio, perSecond, ops) => {
          const clock = createManualClock();
          const budget = new RetryBudget({ ratio, minRetriesPerSecond: perSecond, window: 10_000, clock });
          let requests = 0;
          let retries = 0;
          for (const isRequest of ops) {
            if (isRequest) {
              budget.onRequest()();
              requests++;
            } else if (budget.tryRetry()) retries++;
            expect(retries).toBeLessThanOrEqual(ratio * requests + perSecond * 10 + 1e-9);
          }
        },
      ),
    );
  });

  it('concurrency mode: Envoy 20 % of active requests with a floor of 3', () => {
    const budget = new RetryBudget({ mode: 'concurrency' });
    const active = Array.from({ length: 50 }, () => budget.onRequest());
    const held = [];
    for (let i = 0; i < 20; i++) {
      const r = budget.tryRetry();
      if (r) held.push(r);
    }
    expect(held).toHaveLength(10);
    for (const done of active) done();
    for (const r of held) r();
    expect(
      [budget.tryRetry(), budget.tryRetry(), budget.tryRetry(), budget.tryRetry()].filter(Boolean),
    ).toHaveLength(3);
  });
});

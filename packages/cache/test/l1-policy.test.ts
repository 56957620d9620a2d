import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { WTinyLfu } from '../src/l1/w-tinylfu.js';

type Op =
  | { t: 'set'; k: number; w: number }
  | { t: 'get'; k: number }
  | { t: 'del'; k: number }
  | { t: 'clear' };

const op = (keys: number, maxW: number): fc.Arbitrary<Op> =>
  fc.oneof(
    {
      weight: 6,
      arbitrary: fc.record({
        t: fc.constant('set' as const),
        k: fc.nat(keys),
        w: fc.integer({ min: 0, max: maxW }),
      }),
    },
    { weight: 6, arbitrary: fc.record({ t: fc.constant('get' as const), k: fc.nat(keys) }) },
    { weight: 2, arbitrary: fc.record({ t: fc.constant('del' as const), k: fc.nat(keys) }) },
    { weight: 1, arbitrary: fc.constant({ t: 'clear' as const }) },
  );

describe('W-TinyLFU policy (properties)', () => {
  it('never exceeds its entry or weight bound, never returns a wrong value, keeps its books', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 40 }),
        fc.integer({ min: 1, max: 400 }),
        fc.array(op(80, 120), { maxLength: 400 }),
        (maxEntries, maxWeight, ops) => {
          const evicted: string[] = [];
          const p = new WTinyLfu<string>({ maxEntries, maxWeight, onEvict: (k) => evicted.push(k) });
          const model = new Map<string, { value: string; w: number }>();
          let version = 0;
          for (const o of ops) {
            if (o.t === 'set') {
              const key = `k${o.k}`;
              const value = `v${version++}`;
              const stored = p.set(key, value, o.w);
              expect(stored).toBe(o.w <= maxWeight);
              if (stored) model.set(key, { value, w: o.w });
              else model.delete(key);
            } else if (o.t === 'get') {
              const key = `k${o.k}`;
              const got = p.get(key);
              // Present entries carry the last value written; absent ones may have been evicted.
              if (got !== undefined) expect(got).toBe(model.get(key)?.value);
            } else if (o.t === 'del') {
              p.delete(`k${o.k}`);
              model.delete(`k${o.k}`);
            } else {
              p.clear();
              model.clear();
            }
            expect(p.size).toBeLessThanOrEqual(maxEntries);
            expect(p.weight).toBeLessThanOrEqual(maxWeight);
            const seg = p.segments();
            expect(seg.window + seg.probation + seg.protected).toBe(p.size);
            let sum = 0;
            for (const k of p.keys()) {
              const m = model.get(k);
              expect(m, `held key ${k} must be one the model still has`).toBeDefined();
              expect(p.peek(k)).toBe(m!.value);
              sum += m!.w;
            }
            expect(p.weight).toBe(sum);
          }
          // Every key the model has but the policy lost was reported as evicted.
          for (const k of model.keys()) if (!p.has(k)) expect(evicted).toContain(k);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('a frequent key survives a scan of one-hit wonders (LRU would lose it)', () => {
    const p = new WTinyLfu<number>({ maxEntries: 100, maxWeight: Number.POSITIVE_INFINITY });
    for (let round = 0; round < 20; round++) {
      for (let i = 0; i < 50; i++) {
        if (p.get(`hot${i}`) === undefined) p.set(`hot${i}`, i, 1);
      }
    }
    for (let i = 0; i < 10_000; i++) if (p.get(`scan${i}`) === undefined) p.set(`scan${i}`, i, 1);
    let kept = 0;
    for (let i = 0; i < 50; i++) if (p.peek(`hot${i}`) !== undefined) kept++;
    expect(kept).toBeGreaterThanOrEqual(45);
  });

  it('an entry heavier than the weight bound is refused and drops the older value', () => {
    const p = new WTinyLfu<string>({ maxEntries: 10, maxWeight: 100 });
    expect(p.set('a', 'small', 10)).toBe(true);
    expect(p.set('a', 'huge', 101)).toBe(false);
    expect(p.peek('a')).toBeUndefined();
    expect(p.weight).toBe(0);
  });
});

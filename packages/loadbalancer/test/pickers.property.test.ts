import type { PickerBuilder, ServiceInstance } from '@switchyard/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  maglevPicker,
  randomPicker,
  rendezvousPicker,
  ringHashPicker,
  roundRobinPicker,
  smoothWeightedRoundRobinPicker,
  weightedRandomPicker,
} from '../src/index.js';
import { counts, makeInstances, seededRandom } from './fixtures.js';

const weightsArb = fc.array(fc.integer({ min: 1, max: 8 }), { minLength: 2, maxLength: 8 });

describe('weighted pickers converge to their weights', () => {
  const deterministic: [string, () => PickerBuilder][] = [
    ['round-robin', () => roundRobinPicker()],
    ['smooth-weighted-round-robin', () => smoothWeightedRoundRobinPicker()],
  ];
  it.each(deterministic)('%s is exact over whole periods', (_, make) => {
    fc.assert(
      fc.property(weightsArb, fc.integer({ min: 0, max: 1000 }), (weights, seed) => {
        const instances = makeInstances(weights.length, (i) => weights[i] ?? 1);
        const total = weights.reduce((a, b) => a + b, 0);
        const p = make()(instances, { random: seededRandom(seed) });
        const c = counts(Array.from({ length: total * 3 }, () => p.pick()));
        weights.forEach((w, i) => expect(c.get(`host-${i}`)).toBe(w * 3));
      }),
      { numRuns: 60 },
    );
  });

  const randomised: [string, () => PickerBuilder][] = [
    ['random', () => randomPicker()],
    ['weighted-random', () => weightedRandomPicker()],
  ];
  it.each(randomised)('%s is within 3 %% of the weight share over 40k picks', (_, make) => {
    fc.assert(
      fc.property(weightsArb, fc.integer({ min: 0, max: 1000 }), (weights, seed) => {
        const instances = makeInstances(weights.length, (i) => weights[i] ?? 1);
        const total = weights.reduce((a, b) => a + b, 0);
        const p = make()(instances, { random: seededRandom(seed) });
        const N = 40_000;
        const c = counts(Array.from({ length: N }, () => p.pick()));
        weights.forEach((w, i) =>
          expect(Math.abs((c.get(`host-${i}`) ?? 0) / N - w / total)).toBeLessThan(0.03),
        );
      }),
      { numRuns: 20 },
    );
  });

  it('hash pickers split keys by weight (within 25 % relative for ring hash, 8 % for maglev/rendezvous)', () => {
    const weights = [1, 2, 3, 2];
    const instances = makeInstances(4, (i) => weights[i] ?? 1);
    for (const [make, tol] of [
      [ringHashPicker, 0.25],
      [maglevPicker, 0.08],
      [rendezvousPicker, 0.08],
    ] as const) {
      const p = make()(instances);
      const N = 40_000;
      const c = counts(Array.from({ length: N }, (_, k) => p.pick({ key: `k${k}` })));
      weights.forEach((w, i) => {
        const share = (c.get(`host-${i}`) ?? 0) / N;
        expect(Math.abs(share / (w / 8) - 1)).toBeLessThan(tol);
      });
    }
  });
});

function moved(make: () => PickerBuilder, instances: ServiceInstance[], removeIdx: number, keys: number) {
  const before = make()(instances);
  const after = make()(instances.filter((_, i) => i !== removeIdx));
  const removedId = instances[removeIdx]?.id;
  let movedKeys = 0;
  let movedOthers = 0;
  for (let k = 0; k < keys; k++) {
    const a = before.pick({ key: `key-${k}` })?.id;
    const b = after.pick({ key: `key-${k}` })?.id;
    if (a !== b) {
      movedKeys++;
      if (a !== removedId) movedOthers++;
    }
  }
  return { fraction: movedKeys / keys, movedOthers };
}

describe('consistent hashing disruption', () => {
  const hostsArb = fc.integer({ min: 5, max: 40 });
  it('ring hash and rendezvous move only the leaving host keys (≈ 1/n)', () => {
    fc.assert(
      fc.property(hostsArb, fc.nat(), (n, r) => {
        const instances = makeInstances(n);
        for (const make of [() => ringHashPicker(), () => rendezvousPicker()]) {
          const { fraction, movedOthers } = moved(make, instances, r % n, 4000);
          expect(movedOthers).toBe(0);
          expect(fraction).toBeLessThan(2.2 / n);
        }
      }),
      { numRuns: 12 },
    );
  });

  it('maglev moves about 1/n of keys (at most 2 × ideal + sampling noise)', () => {
    fc.assert(
      fc.property(hostsArb, fc.nat(), (n, r) => {
        const instances = makeInstances(n);
        const { fraction } = moved(() => maglevPicker({ tableSize: 65537 }), instances, r % n, 4000);
        expect(fraction).toBeLessThan(2 / n + 0.02);
        expect(fraction).toBeGreaterThan(0.5 / n);
      }),
      { numRuns: 8 },
    );
  });
});

import type { PickerBuilder, ServiceInstance } from '@switchyard/core';
import { describe, expect, it } from 'vitest';
import { isPrime } from '../src/hashing/primes.js';
import {
  boundedLoadPicker,
  jumpHashPicker,
  maglevPicker,
  murmur3String,
  ringHashPicker,
} from '../src/index.js';
import { jumpBucket } from '../src/pickers/jump-hash.js';
import { MAGLEV_TABLE_SIZES, maglevTableSize } from '../src/pickers/maglev.js';
import { expectCode, makeInstances } from './fixtures.js';

describe('jumpBucket is the published Lamping–Veach algorithm', () => {
  it("matches Guava's Hashing.consistentHash golden values (HashingTest, cross-language check)", () => {
    const golden100 = [0, 55, 62, 8, 45, 59, 86, 97, 82, 59, 73, 37, 17, 56, 86, 21, 90, 37, 38, 83];
    expect(golden100.map((_, i) => jumpBucket(i, 100))).toEqual(golden100);
    expect(jumpBucket(10863919174838991n, 11)).toBe(6);
    expect(jumpBucket(2016238256797177309n, 11)).toBe(3);
    expect(jumpBucket(1673758223894951030n, 11)).toBe(5);
    expect(jumpBucket(2, 100001)).toBe(80343);
    expect(jumpBucket(2201, 100001)).toBe(22152);
    expect(jumpBucket(2202, 100001)).toBe(15018);
  });

  it('matches the github.com/dgryski/go-jump test table', () => {
    expect(jumpBucket(1, 1)).toBe(0);
    expect(jumpBucket(42, 57)).toBe(43);
    expect(jumpBucket(0xdead10cc, 1)).toBe(0);
    expect(jumpBucket(0xdead10cc, 666)).toBe(361);
    expect(jumpBucket(256, 1024)).toBe(520);
  });

  it('agrees with a BigInt transcription of the paper on random 64-bit keys', () => {
    const reference = (key: bigint, buckets: number) => {
      let b = -1;
      let j = 0;
      while (j < buckets) {
        b = j;
        key = BigInt.asUintN(64, key * 2862933555777941757n + 1n);
        j = Math.floor((b + 1) * (2147483648 / (Number(key >> 33n) + 1)));
      }
      return b;
    };
    let state = 0x243f6a8885a308d3n;
    for (let i = 0; i < 3000; i++) {
      state = BigInt.asUintN(64, state * 6364136223846793005n + 1442695040888963407n);
      const buckets = 1 + (Number(state >> 40n) % 10_000);
      expect(jumpBucket(state, buckets)).toBe(reference(state, buckets));
    }
    // a negative Java long is its two's-complement uint64
    expect(jumpBucket(-1n, 1000)).toBe(reference(BigInt.asUintN(64, -1n), 1000));
  });

  it('validates buckets and key (never returns -1)', () => {
    for (const bad of [0, -5, Number.NaN, 1.5, 2 ** 31])
      expectCode(() => jumpBucket(1, bad), 'INVALID_ARGUMENT', 'buckets');
    for (const bad of [-1, 1.5, Number.NaN, 2 ** 53, null])
      expectCode(() => jumpBucket(bad as number, 10), 'INVALID_ARGUMENT', 'key');
  });

  it('the picker feeds murmur3 x86_32 of the key, zero-extended, into jump (buckets in shard order)', () => {
    const instances = makeInstances(
      57,
      () => 1,
      (i) => ({ metadata: { shard: String(i) } }),
    );
    const picker = jumpHashPicker()(instances);
    for (const key of ['a', 'user-42', 'ёлка', '']) {
      expect(picker.pick({ key })?.id).toBe(`host-${jumpBucket(murmur3String(key), 57)}`);
    }
  });
});

function shares(builder: PickerBuilder, weights: number[], keys = 20_000): number[] {
  const instances = makeInstances(weights.length, (i) => weights[i] as number);
  const picker = builder(instances);
  const hits = new Array<number>(weights.length).fill(0);
  for (let k = 0; k < keys; k++) {
    const id = (picker.pick({ key: `key-${k}` }) as ServiceInstance).id;
    hits[Number(id.slice(5))] = (hits[Number(id.slice(5))] as number) + 1;
  }
  return hits.map((h) => h / keys);
}

describe('hash pickers follow extreme (finite, >= 0) weights', () => {
  const pickers: [string, () => PickerBuilder][] = [
    ['ring-hash', () => ringHashPicker()],
    ['bounded-load', () => boundedLoadPicker()],
    ['jump-hash', () => jumpHashPicker()],
    ['maglev', () => maglevPicker()],
  ];
  for (const [name, make] of pickers) {
    it(`${name}: a heavy host gets its share, a tiny host almost nothing`, () => {
      expect(shares(make(), [1e8, 1, 1])[0]).toBeGreaterThan(0.99);
      expect(shares(make(), [1e-12, 1, 1])[0]).toBeLessThan(0.01);
      expect(shares(make(), [5e-324, 1, 1])[0]).toBeLessThan(0.01);
      expect(shares(make(), [1, 5e-324, 5e-324])[0]).toBeGreaterThan(0.99);
      const huge = shares(make(), [Number.MAX_VALUE, Number.MAX_VALUE, 0]);
      expect(huge[2]).toBe(0);
      expect(Math.abs((huge[0] as number) - 0.5)).toBeLessThan(0.06);
      const plain = shares(make(), [1, 2, 3]);
      for (let i = 0; i < 3; i++) expect(Math.abs((plain[i] as number) - (i + 1) / 6)).toBeLessThan(0.05);
    });
  }
});

describe('maglev table size grows with the host count', () => {
  it('uses a fixed ladder of primes, >= 1000 slots per host up to the cap', () => {
    for (const size of MAGLEV_TABLE_SIZES) expect(isPrime(size)).toBe(true);
    expect([1, 65, 66, 100, 131, 132, 200, 262, 263, 500, 524, 525, 5000].map(maglevTableSize)).toEqual([
      65537, 65537, 131071, 131071, 131071, 262139, 262139, 262139, 524287, 524287, 524287, 1048573, 1048573,
    ]);
  });

  it('keeps disruption near 1/n at 200 and 500 hosts (was 2.5x and 5.6x with 65 537 slots)', () => {
    const keys = Array.from({ length: 100_000 }, (_, k) => ({ key: `k${k}` }));
    for (const [n, bound] of [
      [200, 2.1],
      [500, 3.2],
    ] as const) {
      const instances = makeInstances(n);
      const removed = n >> 1;
      const before = maglevPicker()(instances);
      const after = maglevPicker()(instances.filter((_, i) => i !== removed));
      let moved = 0;
      let own = 0;
      for (const key of keys) {
        const b = before.pick(key)?.id;
        if (b === `host-${removed}`) own++;
        if (after.pick(key)?.id !== b) moved++;
      }
      expect(moved / own).toBeLessThan(bound);
    }
  });
});

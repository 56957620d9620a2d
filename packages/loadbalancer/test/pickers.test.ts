import type { PickerBuilder, ServiceInstance } from '@switchyard/core';
import { isSwitchyardError } from '@switchyard/core';
import { describe, expect, it } from 'vitest';
import {
  boundedLoadPicker,
  jumpHashPicker,
  leastRequestPicker,
  maglevPicker,
  murmur3Bytes,
  murmur3String,
  peakEwmaPicker,
  rendezvousPicker,
  ringHashPicker,
  roundRobinPicker,
  smoothWeightedRoundRobinPicker,
} from '../src/index.js';
import { jumpBucket } from '../src/pickers/jump-hash.js';
import { counts, makeInstances, seededRandom } from './fixtures.js';
import { ALL_PICKERS } from './picker-list.js';

function expectInvalid(fn: () => unknown, field: string) {
  try {
    fn();
  } catch (e) {
    expect(isSwitchyardError(e, 'INVALID_ARGUMENT')).toBe(true);
    expect((e as { field?: string }).field).toBe(field);
    expect((e as Error).message).toMatch(/^\[loadbalancer\]/);
    return;
  }
  throw new Error(`expected INVALID_ARGUMENT for ${field}`);
}

describe('murmur3', () => {
  it('matches the reference byte implementation and known vectors', () => {
    expect(murmur3Bytes(new TextEncoder().encode('hello'))).toBe(0x248bfa47);
    expect(murmur3Bytes(new Uint8Array(0))).toBe(0);
    for (const s of ['', 'a', 'ab', 'abc', 'user-42', 'ünïcødé ✓', '𝄞 clef']) {
      expect(murmur3String(s, 7)).toBe(murmur3Bytes(Buffer.from(s, 'utf16le'), 7));
    }
  });
});

describe.each(ALL_PICKERS)('%s picker', (name, make) => {
  it('reports its name and size, returns undefined for an empty set', () => {
    const p = make()([], { random: seededRandom(1) });
    expect(p.name).toBe(name);
    expect(p.size).toBe(0);
    expect(p.pick({ key: 'k' })).toBeUndefined();
  });

  it('skips ineligible instances without a rebuild and returns undefined when none is eligible', () => {
    const instances = makeInstances(8);
    const down = new Set(['host-1', 'host-3', 'host-4']);
    let allDown = false;
    const p = make()(instances, {
      random: seededRandom(2),
      isEligible: (i) => !allDown && !down.has(i.id),
    });
    for (let k = 0; k < 500; k++) {
      const got = p.pick({ key: `key-${k}` });
      expect(got).toBeDefined();
      expect(down.has(got?.id ?? '')).toBe(false);
    }
    allDown = true;
    expect(p.pick({ key: 'x' })).toBeUndefined();
  });

  it('never picks a zero-weight instance', () => {
    const instances = makeInstances(5, (i) => (i === 2 ? 0 : 1));
    const p = make()(instances, { random: seededRandom(3) });
    for (let k = 0; k < 1000; k++) expect(p.pick({ key: `k${k}` })?.id).not.toBe('host-2');
  });

  it('rejects invalid weights with INVALID_ARGUMENT naming the field', () => {
    const instances = makeInstances(3);
    expectInvalid(() => make()(instances, { weightOf: (_, i) => (i === 1 ? -1 : 1) }), 'instances[1].weight');
    expectInvalid(() => make()(instances, { weightOf: () => Number.NaN }), 'instances[0].weight');
  });
});

describe('round robin family', () => {
  it('smooth weighted round robin produces the nginx sequence', () => {
    const instances = makeInstances(3, (i) => (i === 0 ? 5 : 1));
    const p = smoothWeightedRoundRobinPicker()(instances);
    const seq = Array.from({ length: 7 }, () => p.pick()?.id.replace('host-', ''));
    expect(seq.join('')).toBe('0010200'.replace(/./g, (c) => c));
    expect(seq).toEqual(['0', '0', '1', '0', '2', '0', '0']);
  });

  it('smooth weighted round robin runs live for fractional weights and stays proportional', () => {
    const instances = makeInstances(3);
    const p = smoothWeightedRoundRobinPicker()(instances, { weightOf: (_, i) => [0.5, 0.25, 0.25][i] ?? 0 });
    const c = counts(Array.from({ length: 400 }, () => p.pick()));
    expect(c.get('host-0')).toBe(200);
    expect(c.get('host-1')).toBe(100);
  });

  it('round robin cycles through every instance once per round', () => {
    const instances = makeInstances(5);
    const p = roundRobinPicker()(instances, { random: seededRandom(4) });
    const round = new Set(Array.from({ length: 5 }, () => p.pick()?.id));
    expect(round.size).toBe(5);
  });
});

describe('load-aware pickers', () => {
  it('least request prefers the instance with fewer in-flight requests', () => {
    const instances = makeInstances(2);
    const load = [10, 0];
    const p = leastRequestPicker()(instances, { random: seededRandom(5), loadOf: (_, i) => load[i] ?? 0 });
    const c = counts(Array.from({ length: 100 }, () => p.pick()));
    expect(c.get('host-1')).toBe(100);
  });

  it('peak EWMA prefers the faster instance', () => {
    const instances = makeInstances(3);
    const latency = [100, 10, 10];
    const p = peakEwmaPicker()(instances, { random: seededRandom(6), latencyOf: (_, i) => latency[i] ?? 0 });
    const c = counts(Array.from({ length: 1000 }, () => p.pick()));
    expect(c.get('host-0') ?? 0).toBe(0);
  });

  it('rejects invalid choices', () => {
    expectInvalid(() => leastRequestPicker({ choices: 1 }), 'leastRequest.choices');
    expectInvalid(() => peakEwmaPicker({ choices: 11 }), 'peakEwma.choices');
  });
});

describe('hash pickers', () => {
  const hashPickers: [string, () => PickerBuilder][] = [
    ['ring-hash', () => ringHashPicker()],
    ['maglev', () => maglevPicker()],
    ['rendezvous', () => rendezvousPicker()],
    ['jump-hash', () => jumpHashPicker()],
    ['bounded-load', () => boundedLoadPicker()],
  ];

  it.each(hashPickers)(
    '%s is deterministic across instance order (another process rebuilding)',
    (_, make) => {
      const a = makeInstances(20, (i) => 1 + (i % 3));
      const b = [...a].reverse();
      const pa = make()(a);
      const pb = make()(b);
      for (let k = 0; k < 2000; k++)
        expect(pb.pick({ key: `user-${k}` })?.id).toBe(pa.pick({ key: `user-${k}` })?.id);
    },
  );

  it('uses the stable endpoint key from metadata instead of the address or id', () => {
    const a = makeInstances(
      10,
      () => 1,
      (i) => ({ metadata: { hash_key: `node-${i}` } }),
    );
    const b = makeInstances(
      10,
      () => 1,
      (i) => ({ id: `pod-${i}-restarted`, metadata: { hash_key: `node-${i}` } }),
    );
    for (const make of [ringHashPicker, maglevPicker, rendezvousPicker]) {
      const pa = make()(a);
      const pb = make()(b);
      for (let k = 0; k < 500; k++)
        expect(pb.pick({ key: `u${k}` })?.metadata.hash_key).toBe(
          pa.pick({ key: `u${k}` })?.metadata.hash_key,
        );
    }
  });

  it('honours a precomputed context hash', () => {
    const p = maglevPicker()(makeInstances(10));
    expect(p.pick({ hash: murmur3String('abc') })?.id).toBe(p.pick({ key: 'abc' })?.id);
  });

  it('maglev validates the table size and grows it with the host count', () => {
    expectInvalid(() => maglevPicker({ tableSize: 65536 }), 'maglev.tableSize');
    expect(maglevPicker({ tableSize: 251 })(makeInstances(2)).pick({ key: 'a' })).toBeDefined();
  });

  it('ring hash validates vnodes', () => {
    expectInvalid(() => ringHashPicker({ vnodes: 0 }), 'ringHash.vnodes');
    expectInvalid(() => boundedLoadPicker({ epsilon: 0 }), 'boundedLoad.epsilon');
  });

  it('jump hash moves only the keys of the last bucket when it is removed', () => {
    let moved = 0;
    for (let k = 0; k < 10_000; k++) {
      const h = murmur3String(`k${k}`);
      const before = jumpBucket(h, 10);
      const after = jumpBucket(h, 9);
      if (before !== after) {
        moved++;
        expect(before).toBe(9);
      }
    }
    expect(moved / 10_000).toBeGreaterThan(0.08);
    expect(moved / 10_000).toBeLessThan(0.12);
  });

  it('bounded load keeps every host under (1 + ε) × mean while keys pile onto one hash', () => {
    const instances = makeInstances(10);
    const load = new Array<number>(10).fill(0);
    const p = boundedLoadPicker({ epsilon: 0.25 })(instances, { loadOf: (_, i) => load[i] ?? 0 });
    for (let k = 0; k < 1000; k++) {
      const got = p.pick({ key: k % 3 === 0 ? 'hot' : `k${k}` });
      const idx = instances.indexOf(got as ServiceInstance);
      load[idx] = (load[idx] ?? 0) + 1;
      const total = load.reduce((a, b) => a + b, 0);
      expect(Math.max(...load)).toBeLessThanOrEqual(Math.ceil((1.25 * total) / 10));
    }
  });
});

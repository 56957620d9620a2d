import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { instanceLabel, instanceToTxt, orderSrv, txtToInstanceFields } from '../src/index.js';

/** A seeded generator, so the counts below are exact and the test cannot flake. */
function lcg(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

describe('orderSrv (RFC 2782 without the T+1 bias)', () => {
  it('puts the lowest priority first and picks by weight/sum', () => {
    const random = lcg(7);
    const records = [
      { id: 'a', priority: 10, weight: 1 },
      { id: 'b', priority: 10, weight: 1 },
      { id: 'c', priority: 10, weight: 2 },
      { id: 'z', priority: 5, weight: 0 },
    ];
    const first = new Map<string, number>();
    const n = 40_000;
    for (let i = 0; i < n; i++) {
      const order = orderSrv(records, random);
      expect(order[0]?.id).toBe('z');
      expect(order.map((r) => r.id).sort()).toEqual(['a', 'b', 'c', 'z']);
      first.set(order[1]!.id, (first.get(order[1]!.id) ?? 0) + 1);
    }
    // {1,1,2}: the literal RFC text would give a 2/5, b 1/5, c 2/5; the fix gives 1/4, 1/4, 1/2.
    expect((first.get('a') ?? 0) / n).toBeCloseTo(0.25, 1);
    expect((first.get('b') ?? 0) / n).toBeCloseTo(0.25, 1);
    expect((first.get('c') ?? 0) / n).toBeCloseTo(0.5, 1);
  });

  it('weight-0 records come after the weighted ones of their priority', () => {
    const order = orderSrv(
      [
        { id: 'zero', priority: 1, weight: 0 },
        { id: 'w', priority: 1, weight: 3 },
      ],
      lcg(1),
    );
    expect(order.map((r) => r.id)).toEqual(['w', 'zero']);
  });
});

describe('instance TXT form and labels', () => {
  it('round-trips every field, long values included', () => {
    const instance = {
      id: 'Pod:7@host',
      service: 'orders',
      address: '10.0.0.1',
      port: 80,
      tags: ['v1', 'has=equals'],
      metadata: { team: 'core', long: 'é'.repeat(400) },
      weight: 3,
      zone: 'z1',
      region: 'r1',
      health: 'warning' as const,
    };
    const txt = instanceToTxt(instance);
    expect(txt.every((s) => Buffer.byteLength(s) <= 255)).toBe(true);
    const back = txtToInstanceFields(txt);
    expect(back).toEqual({
      id: 'Pod:7@host',
      health: 'warning',
      weight: 3,
      zone: 'z1',
      region: 'r1',
      tags: ['v1', 'has=equals'],
      metadata: { team: 'core', long: 'é'.repeat(400) },
    });
  });

  it('round-trips any instance (property)', () => {
    const text = fc.string({ unit: 'grapheme', maxLength: 300 });
    fc.assert(
      fc.property(
        fc.record({
          id: fc.stringMatching(/^[A-Za-z0-9._:@-]{1,80}$/),
          tags: fc.array(text, { maxLength: 5 }),
          metadata: fc.dictionary(fc.stringMatching(/^[a-z][a-z0-9_.-]{0,20}$/), text, { maxKeys: 5 }),
          weight: fc.integer({ min: 0, max: 1000 }),
          zone: fc.option(text, { nil: undefined }),
          health: fc.constantFrom(
            'passing' as const,
            'warning' as const,
            'critical' as const,
            'maintenance' as const,
          ),
        }),
        (r) => {
          const instance = {
            ...r,
            service: 's',
            address: '10.0.0.1',
            port: 1,
            ...(r.zone === undefined ? {} : { zone: r.zone }),
          };
          const txt = instanceToTxt(instance);
          expect(txt.every((x) => Buffer.byteLength(x) <= 255)).toBe(true);
          const back = txtToInstanceFields(txt);
          expect(back.id).toBe(r.id);
          expect(back.tags).toEqual(r.tags);
          expect(back.metadata).toEqual(r.metadata);
          expect(back.weight).toBe(r.weight);
          expect(back.zone).toBe(r.zone);
          expect(back.health).toBe(r.health);
        },
      ),
      { numRuns: 300, seed: 42 },
    );
  });

  it('labels are DNS-safe and distinct for ids differing only in case', () => {
    expect(instanceLabel('i1')).toBe('i1');
    const a = instanceLabel('Pod-1');
    const b = instanceLabel('pod-1');
    expect(a).not.toBe(b);
    expect(instanceLabel('a.b:c@d')).toMatch(/^[a-z0-9-]+$/);
  });
});

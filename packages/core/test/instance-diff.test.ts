import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  diffInstances,
  isEmptyDiff,
  matchesFilter,
  normalizeInstance,
  type ServiceInstance,
} from '../src/index.js';

const instanceArb = fc
  .record({
    id: fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f'),
    port: fc.integer({ min: 1, max: 65535 }),
    weight: fc.integer({ min: 0, max: 5 }),
    health: fc.constantFrom('passing', 'warning', 'critical', 'maintenance' as const),
    tags: fc.array(fc.constantFrom('x', 'y'), { maxLength: 2 }),
  })
  .map((r) => normalizeInstance('t', { ...r, service: 's', address: '127.0.0.1' }));

const listArb = fc.uniqueArray(instanceArb, { selector: (i) => i.id });

function apply(
  before: readonly ServiceInstance[],
  diff: ReturnType<typeof diffInstances>,
): ServiceInstance[] {
  const m = new Map(before.map((i) => [i.id, i]));
  for (const i of diff.removed) m.delete(i.id);
  for (const i of [...diff.added, ...diff.updated]) m.set(i.id, i);
  return [...m.values()].sort((x, y) => (x.id < y.id ? -1 : 1));
}

describe('diffInstances (property)', () => {
  it('applying the diff to the old list gives the new list', () => {
    fc.assert(
      fc.property(listArb, listArb, (before, after) => {
        const diff = diffInstances(before, after);
        expect(apply(before, diff)).toEqual([...after].sort((x, y) => (x.id < y.id ? -1 : 1)));
        const ids = [...diff.added, ...diff.removed, ...diff.updated].map((i) => i.id);
        expect(new Set(ids).size).toBe(ids.length);
      }),
    );
  });

  it('a list diffed against itself is empty', () => {
    fc.assert(fc.property(listArb, (list) => isEmptyDiff(diffInstances(list, [...list].reverse()))));
  });
});

describe('matchesFilter', () => {
  it('defaults to passing only and combines criteria with AND', () => {
    const i = normalizeInstance('t', {
      id: 'a',
      service: 's',
      address: '::1',
      port: 1,
      tags: ['x'],
      metadata: { v: '1' },
      zone: 'z',
    });
    expect(matchesFilter(i, undefined)).toBe(true);
    expect(matchesFilter({ ...i, health: 'warning' }, undefined)).toBe(false);
    expect(matchesFilter(i, { tags: ['x'], metadata: { v: '1' }, zone: 'z' })).toBe(true);
    expect(matchesFilter(i, { tags: ['x', 'y'] })).toBe(false);
    expect(matchesFilter(i, { zone: 'other' })).toBe(false);
  });
});

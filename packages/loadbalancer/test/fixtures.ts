import type { ServiceInstance } from '@switchyard/core';
import { normalizeInstance } from '@switchyard/core';

export function makeInstances(
  n: number,
  weight: (i: number) => number = () => 1,
  extra: (i: number) => Partial<ServiceInstance> = () => ({}),
): ServiceInstance[] {
  return Array.from({ length: n }, (_, i) => ({
    ...normalizeInstance('test', {
      id: `host-${i}`,
      service: 'svc',
      address: `10.0.${(i >> 8) & 255}.${i & 255}`,
      port: 8080,
      weight: weight(i),
    }),
    ...extra(i),
  }));
}

/** Deterministic PRNG (mulberry32) for reproducible random pickers. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function counts(picks: (ServiceInstance | undefined)[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const p of picks) if (p) m.set(p.id, (m.get(p.id) ?? 0) + 1);
  return m;
}

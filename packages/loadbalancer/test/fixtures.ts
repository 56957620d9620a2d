import type { ServiceInstance } from '@switchyard/core';
import { isSwitchyardError, normalizeInstance } from '@switchyard/core';
import { expect } from 'vitest';

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

export function expectCode(fn: () => unknown, code: string, field?: string) {
  try {
    fn();
  } catch (e) {
    expect(isSwitchyardError(e)).toBe(true);
    expect((e as { code: string }).code).toBe(code);
    if (field) expect((e as { field?: string }).field).toBe(field);
    return e;
  }
  throw new Error(`expected ${code}`);
}

export function tally(
  balancer: { pick: (c?: object) => { instance: { id: string }; report: (ok: boolean, l?: number) => void } },
  n: number,
  ctx?: (i: number) => object,
) {
  const m = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const h = balancer.pick(ctx?.(i));
    m.set(h.instance.id, (m.get(h.instance.id) ?? 0) + 1);
    h.report(true, 1);
  }
  return m;
}

import type { ServiceInstance } from '@switchyard/core';
import { invalidArgument } from '@switchyard/core';
import { AliasTable } from './alias-table.js';
import { drawIndex, PKG, type PreparedSet, scanEligible } from './prepared-set.js';

/**
 * Power-of-d-choices core shared by the least-request and peak-EWMA pickers: draws `choices`
 * eligible candidates (weighted by the alias method, uniform when weights are equal) and keeps the
 * one with the lowest `score(index)`. Allocation-free.
 */
export function createP2cPick<T extends ServiceInstance>(
  set: PreparedSet<T>,
  choices: number,
  score: (index: number) => number,
): () => T | undefined {
  const { instances, isEligible, next } = set;
  const n = instances.length;
  const uniform = set.uniform && set.positive === n;
  const table = uniform ? undefined : new AliasTable(set.weights);
  const maxDraws = choices * 4;
  return () => {
    if (set.positive === 0) return undefined;
    let best = -1;
    let bestScore = 0;
    let found = 0;
    for (let d = 0; d < maxDraws && found < choices; d++) {
      const i = table ? table.sample(next()) : drawIndex(next, n);
      if (i === best || (isEligible && !isEligible(instances[i] as T, i))) continue;
      found++;
      const s = score(i);
      if (best < 0 || s < bestScore) {
        best = i;
        bestScore = s;
      }
    }
    if (best < 0) best = scanEligible(set, drawIndex(next, n));
    return best < 0 ? undefined : instances[best];
  };
}

export function validateChoices(field: string, choices: unknown): number {
  if (typeof choices !== 'number' || !Number.isInteger(choices) || choices < 2 || choices > 10)
    throw invalidArgument(PKG, field, `must be an integer in 2..10, got ${String(choices)}`);
  return choices;
}

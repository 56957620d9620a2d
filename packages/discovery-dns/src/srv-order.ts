/** The fields of an SRV record that decide the order (RFC 2782). */
export interface SrvChoice {
  readonly priority: number;
  readonly weight: number;
}

/**
 * Orders SRV records per RFC 2782: lowest priority first; within a priority, a weighted random
 * order. Unlike the RFC's literal text (r in [0, sum], first running sum >= r), which gives the
 * first record one share too many ({1,1} picks the first 2/3 of the time), r is drawn from
 * [0, sum) and the first running sum > r wins, so each record's chance is exactly weight/sum.
 * Weight-0 records come last in their priority, in random order ("very small chance" in the RFC).
 * `random` returns [0, 1).
 */
export function orderSrv<T extends SrvChoice>(
  records: readonly T[],
  random: () => number = Math.random,
): T[] {
  const byPriority = new Map<number, T[]>();
  for (const r of records) {
    const group = byPriority.get(r.priority);
    if (group) group.push(r);
    else byPriority.set(r.priority, [r]);
  }
  const out: T[] = [];
  for (const priority of [...byPriority.keys()].sort((a, b) => a - b)) {
    const group = byPriority.get(priority) as T[];
    const weighted = group.filter((r) => r.weight > 0);
    const zero = group.filter((r) => r.weight === 0);
    while (weighted.length > 0) {
      let sum = 0;
      for (const r of weighted) sum += r.weight;
      const pick = random() * sum;
      let running = 0;
      let index = weighted.length - 1;
      for (let i = 0; i < weighted.length; i++) {
        running += (weighted[i] as T).weight;
        if (running > pick) {
          index = i;
          break;
        }
      }
      out.push(...weighted.splice(index, 1));
    }
    while (zero.length > 0) out.push(...zero.splice(Math.floor(random() * zero.length), 1));
  }
  return out;
}

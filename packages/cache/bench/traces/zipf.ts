/** Seeded traces for hit-ratio runs (deterministic: the same trace for every policy). */

/** A small, fast seeded PRNG (mulberry32) returning [0, 1). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `length` keys drawn from Zipf(`s`) over `universe` ranks (inverse CDF by binary search). */
export function zipfTrace(universe: number, s: number, length: number, seed = 1): string[] {
  const cdf = new Float64Array(universe);
  let sum = 0;
  for (let i = 0; i < universe; i++) {
    sum += 1 / (i + 1) ** s;
    cdf[i] = sum;
  }
  const random = seededRandom(seed);
  // Ranks are shuffled onto key ids, so popularity is not correlated with the key's text.
  const ids = Array.from({ length: universe }, (_, i) => i);
  for (let i = universe - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [ids[i], ids[j]] = [ids[j]!, ids[i]!];
  }
  const out = new Array<string>(length);
  for (let n = 0; n < length; n++) {
    const u = random() * sum;
    let lo = 0;
    let hi = universe - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (cdf[mid]! < u) lo = mid + 1;
      else hi = mid;
    }
    out[n] = `key:${ids[lo]}`;
  }
  return out;
}

/**
 * A Zipf trace polluted by scans: every `every` requests, a sequential scan of `scanLength` keys
 * never seen before (a batch job, a crawler) is interleaved.
 */
export function scanPollutedTrace(
  universe: number,
  s: number,
  length: number,
  every: number,
  scanLength: number,
  seed = 2,
): string[] {
  const base = zipfTrace(universe, s, length, seed);
  const out: string[] = [];
  let scanId = 0;
  for (let i = 0; i < base.length; i++) {
    out.push(base[i]!);
    if ((i + 1) % every === 0) for (let j = 0; j < scanLength; j++) out.push(`scan:${scanId++}`);
  }
  return out;
}

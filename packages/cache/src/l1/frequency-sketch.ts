/**
 * The TinyLFU frequency sketch: a count-min sketch of small counters (capped at 15, like
 * Caffeine's 4-bit counters) over one table, four positions per key, with **conservative update**
 * (only the smallest counters grow) and **periodic halving**: after `10 × capacity` increments every
 * counter is halved, so the sketch follows the recent popularity instead of all history.
 */
export class FrequencySketch {
  readonly #table: Uint8Array;
  readonly #mask: number;
  readonly #sampleSize: number;
  #additions = 0;

  constructor(capacity: number) {
    const size = nextPowerOfTwo(Math.max(64, capacity * 4));
    this.#table = new Uint8Array(size);
    this.#mask = size - 1;
    this.#sampleSize = Math.max(10, 10 * capacity);
  }

  /** Estimated recent frequency of the key with `hash` (0..15). */
  frequency(hash: number): number {
    const t = this.#table;
    const m = this.#mask;
    let min = t[mix(hash, 0x9e3779b9) & m]!;
    let c = t[mix(hash, 0x7f4a7c15) & m]!;
    if (c < min) min = c;
    c = t[mix(hash, 0x94d049bb) & m]!;
    if (c < min) min = c;
    c = t[mix(hash, 0xbf58476d) & m]!;
    return Math.min(c, min);
  }

  /** Records one access. */
  increment(hash: number): void {
    const t = this.#table;
    const m = this.#mask;
    const a = mix(hash, 0x9e3779b9) & m;
    const b = mix(hash, 0x7f4a7c15) & m;
    const c = mix(hash, 0x94d049bb) & m;
    const d = mix(hash, 0xbf58476d) & m;
    let min = t[a]!;
    if (t[b]! < min) min = t[b]!;
    if (t[c]! < min) min = t[c]!;
    if (t[d]! < min) min = t[d]!;
    if (min >= 15) return;
    if (t[a] === min) t[a] = min + 1;
    if (t[b] === min) t[b] = min + 1;
    if (t[c] === min) t[c] = min + 1;
    if (t[d] === min) t[d] = min + 1;
    if (++this.#additions >= this.#sampleSize) this.#halve();
  }

  #halve(): void {
    const t = this.#table;
    for (let i = 0; i < t.length; i++) t[i] = t[i]! >>> 1;
    this.#additions = this.#additions >>> 1;
  }

  clear(): void {
    this.#table.fill(0);
    this.#additions = 0;
  }
}

/** 32-bit FNV-1a over the UTF-16 code units of `key`. */
export function hashKey(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** The murmur3 finaliser of `hash ^ seed`: four independent-looking positions from one hash. */
function mix(hash: number, seed: number): number {
  let x = (hash ^ seed) >>> 0;
  x ^= x >>> 16;
  x = Math.imul(x, 0x85ebca6b);
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35);
  x ^= x >>> 16;
  return x >>> 0;
}

function nextPowerOfTwo(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}

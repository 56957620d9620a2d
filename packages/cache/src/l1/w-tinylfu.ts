import { AccessQueue, PolicyNode, PROBATION, PROTECTED, WINDOW } from './access-queue.js';
import { FrequencySketch, hashKey } from './frequency-sketch.js';

export type EvictionReason = 'capacity' | 'size';

export interface WTinyLfuOptions<V> {
  /** Most entries held. */
  maxEntries: number;
  /** Most total weight held (bytes by convention); `Infinity` for no byte bound. */
  maxWeight: number;
  /** Share of `maxEntries` for the admission window (default 0.01, as in Caffeine). */
  windowRatio?: number;
  /** Called for every entry the policy drops on its own (not for delete/clear). */
  onEvict?: (key: string, value: V, reason: EvictionReason) => void;
}

/**
 * W-TinyLFU (Einziger, Friedman, Manes; Caffeine's design): new entries enter a small LRU
 * **window** (1 %); an entry leaving the window is a candidate for the **main** segmented LRU
 * (probation 20 % / protected 80 %), admitted only if the frequency sketch says it is used more
 * often than the main's eviction victim. Recency bursts survive in the window, one-hit wonders and
 * scans never push out the frequent keys. Bounded by entry count and by total weight.
 */
export class WTinyLfu<V> {
  readonly maxEntries: number;
  readonly maxWeight: number;
  readonly #windowMax: number;
  readonly #mainMax: number;
  readonly #protectedMax: number;
  readonly #map = new Map<string, PolicyNode<V>>();
  readonly #window = new AccessQueue<V>();
  readonly #probation = new AccessQueue<V>();
  readonly #protected = new AccessQueue<V>();
  readonly #sketch: FrequencySketch;
  readonly #onEvict: ((key: string, value: V, reason: EvictionReason) => void) | undefined;
  #weight = 0;
  #seed = 0x2545f491;

  constructor(options: WTinyLfuOptions<V>) {
    this.maxEntries = options.maxEntries;
    this.maxWeight = options.maxWeight;
    this.#windowMax = Math.max(1, Math.round(this.maxEntries * (options.windowRatio ?? 0.01)));
    this.#mainMax = Math.max(0, this.maxEntries - this.#windowMax);
    this.#protectedMax = Math.floor(this.#mainMax * 0.8);
    this.#sketch = new FrequencySketch(this.maxEntries);
    this.#onEvict = options.onEvict;
  }

  get size(): number {
    return this.#map.size;
  }

  /** Total weight held. */
  get weight(): number {
    return this.#weight;
  }

  /** The value, recording the access (frequency and recency); a miss is recorded too. */
  get(key: string): V | undefined {
    const n = this.#map.get(key);
    if (n === undefined) {
      this.#sketch.increment(hashKey(key));
      return undefined;
    }
    this.#sketch.increment(n.hash);
    this.#touch(n);
    return n.value;
  }

  /** The value without recording an access. */
  peek(key: string): V | undefined {
    return this.#map.get(key)?.value;
  }

  has(key: string): boolean {
    return this.#map.has(key);
  }

  /**
   * Inserts or replaces. Returns `false` when the entry alone outweighs `maxWeight` (it is not
   * stored, and an older value of the key is dropped).
   */
  set(key: string, value: V, weight: number): boolean {
    const existing = this.#map.get(key);
    if (weight > this.maxWeight) {
      if (existing) this.#unlink(existing);
      return false;
    }
    if (existing) {
      this.#weight += weight - existing.weight;
      existing.value = value;
      existing.weight = weight;
      this.#sketch.increment(existing.hash);
      this.#touch(existing);
      this.#evictBySize();
      return true;
    }
    const hash = hashKey(key);
    const n = new PolicyNode(key, value, weight, hash);
    this.#map.set(key, n);
    this.#window.pushFront(n);
    this.#weight += weight;
    this.#sketch.increment(hash);
    this.#evict();
    return true;
  }

  /** Replaces the value of a held key without counting an access (same weight). */
  replace(key: string, value: V): boolean {
    const n = this.#map.get(key);
    if (!n) return false;
    n.value = value;
    return true;
  }

  delete(key: string): boolean {
    const n = this.#map.get(key);
    if (!n) return false;
    this.#unlink(n);
    return true;
  }

  clear(): void {
    this.#map.clear();
    this.#window.clear();
    this.#probation.clear();
    this.#protected.clear();
    this.#weight = 0;
  }

  keys(): IterableIterator<string> {
    return this.#map.keys();
  }

  /** Sizes of the three segments (for tests and stats). */
  segments(): { window: number; probation: number; protected: number } {
    return { window: this.#window.size, probation: this.#probation.size, protected: this.#protected.size };
  }

  #queue(n: PolicyNode<V>): AccessQueue<V> {
    return n.queue === WINDOW ? this.#window : n.queue === PROBATION ? this.#probation : this.#protected;
  }

  #touch(n: PolicyNode<V>): void {
    if (n.queue === PROBATION) {
      // A second access in main: promote to protected; its overflow is demoted back to probation.
      this.#probation.remove(n);
      n.queue = PROTECTED;
      this.#protected.pushFront(n);
      if (this.#protected.size > this.#protectedMax) {
        const demoted = this.#protected.tail!;
        this.#protected.remove(demoted);
        demoted.queue = PROBATION;
        this.#probation.pushFront(demoted);
      }
    } else {
      this.#queue(n).moveToFront(n);
    }
  }

  #unlink(n: PolicyNode<V>): void {
    this.#queue(n).remove(n);
    this.#map.delete(n.key);
    this.#weight -= n.weight;
  }

  #drop(n: PolicyNode<V>, reason: EvictionReason): void {
    this.#unlink(n);
    this.#onEvict?.(n.key, n.value, reason);
  }

  #evict(): void {
    // Window overflow: its LRU entries become candidates at the MRU end of probation, the oldest
    // candidate deepest. Candidates therefore fill the first `candidates` places from the head.
    let candidates = 0;
    let oldest: PolicyNode<V> | undefined;
    while (this.#window.size > this.#windowMax) {
      const n = this.#window.tail!;
      this.#window.remove(n);
      n.queue = PROBATION;
      this.#probation.pushFront(n);
      if (candidates++ === 0) oldest = n;
    }
    // Main overflow: the oldest candidate duels the probation victim (the LRU end) on frequency.
    while (this.#probation.size + this.#protected.size > this.#mainMax) {
      const victim = this.#probation.tail ?? this.#protected.tail!;
      if (oldest === undefined) {
        this.#drop(victim, 'capacity');
        continue;
      }
      const newer = oldest.prev;
      if (victim === oldest || !this.#admit(oldest, victim)) this.#drop(oldest, 'capacity');
      else this.#drop(victim, 'capacity');
      oldest = --candidates > 0 ? newer : undefined;
    }
    this.#evictBySize();
  }

  /** Byte bound: drop from the main's eviction end first, the window last. */
  #evictBySize(): void {
    while (this.#weight > this.maxWeight) {
      const victim = this.#probation.tail ?? this.#protected.tail ?? this.#window.tail!;
      this.#drop(victim, 'size');
    }
  }

  /**
   * TinyLFU admission: the candidate must be strictly more frequent than the victim. A warm
   * candidate still wins ~1 in 128 duels at random, so an attacker cannot pin the victim slot with
   * colliding keys (Caffeine's HashDoS defence).
   */
  #admit(candidate: PolicyNode<V>, victim: PolicyNode<V>): boolean {
    const c = this.#sketch.frequency(candidate.hash);
    const v = this.#sketch.frequency(victim.hash);
    if (c > v) return true;
    if (c <= 5) return false;
    let x = this.#seed;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.#seed = x;
    return (x & 127) === 0;
  }
}

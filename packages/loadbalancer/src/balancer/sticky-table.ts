/**
 * Request key → instance id, bounded (oldest entries are evicted first). A key keeps its instance
 * while that instance is active and eligible; otherwise it is re-picked and re-bound, so when an
 * instance leaves only its own keys move.
 */
export class StickyTable {
  readonly #map = new Map<string, string>();
  readonly #max: number;

  constructor(maxKeys: number) {
    this.#max = maxKeys;
  }

  get size(): number {
    return this.#map.size;
  }

  get(key: string): string | undefined {
    return this.#map.get(key);
  }

  set(key: string, id: string): void {
    if (this.#map.get(key) === id) return;
    this.#map.delete(key);
    this.#map.set(key, id);
    if (this.#map.size > this.#max) {
      const oldest = this.#map.keys().next();
      if (!oldest.done) this.#map.delete(oldest.value);
    }
  }

  /** Forgets every key bound to `id` (the instance left the set). */
  forgetInstance(id: string): void {
    for (const [k, v] of this.#map) if (v === id) this.#map.delete(k);
  }

  clear(): void {
    this.#map.clear();
  }
}

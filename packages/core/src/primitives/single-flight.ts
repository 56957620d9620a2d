/**
 * Coalesces concurrent calls per key: while a call for `key` is in flight, later callers share its
 * promise instead of starting another.
 */
export class SingleFlight<K, V> {
  readonly #inFlight = new Map<K, Promise<V>>();

  do(key: K, fn: () => Promise<V>): Promise<V> {
    const running = this.#inFlight.get(key);
    if (running) return running;
    const p = (async () => {
      try {
        return await fn();
      } finally {
        this.#inFlight.delete(key);
      }
    })();
    this.#inFlight.set(key, p);
    return p;
  }

  has(key: K): boolean {
    return this.#inFlight.has(key);
  }

  get size(): number {
    return this.#inFlight.size;
  }
}

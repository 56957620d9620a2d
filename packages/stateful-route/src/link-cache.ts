import type { Clock } from '@switchyard/core';
import type { LinkRecord } from './route-model.js';

interface Entry extends LinkRecord {
  /** Local monotonic ms after which the entry is not used. */
  readonly expires: number;
}

/**
 * The caller's bounded local cache of links (namespace, uid, service) → (pod, epoch). An entry is
 * only a hint: every hit is checked against the local pod view (live lease, same epoch, routable),
 * so an entry whose pod died, restarted or was forbidden is dropped at its next use. Size-bounded
 * (oldest inserted first out) and TTL-bounded.
 */
export class LinkCache {
  readonly #max: number;
  readonly #ttl: number;
  readonly #clock: Clock;
  readonly #map = new Map<string, Entry>();

  constructor(max: number, ttl: number, clock: Clock) {
    this.#max = max;
    this.#ttl = ttl;
    this.#clock = clock;
  }

  static key(namespace: string, uid: string, service: string): string {
    return `${namespace}\u0000${service}\u0000${uid}`;
  }

  get(key: string): Entry | undefined {
    const e = this.#map.get(key);
    if (e === undefined) return undefined;
    if (e.expires <= this.#clock.monotonic()) {
      this.#map.delete(key);
      return undefined;
    }
    return e;
  }

  set(key: string, pod: string, epoch: number): void {
    if (this.#max === 0) return;
    this.#map.delete(key);
    this.#map.set(key, { pod, epoch, till: 0, expires: this.#clock.monotonic() + this.#ttl });
    if (this.#map.size > this.#max) {
      const oldest = this.#map.keys().next();
      if (!oldest.done) this.#map.delete(oldest.value);
    }
  }

  delete(key: string): void {
    this.#map.delete(key);
  }

  get size(): number {
    return this.#map.size;
  }

  clear(): void {
    this.#map.clear();
  }
}

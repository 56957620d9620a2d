import { patchCached } from './response-writer.js';

interface Entry {
  tag: string;
  /** One encoded answer per rotation of the record order (filled on first use). */
  variants: (Buffer | undefined)[];
  truncated: boolean;
}

export interface Built {
  buffer: Buffer;
  truncated: boolean;
  /** How many record orders the answer rotates through. */
  variants: number;
}

/**
 * Encoded answers by (type, name, size class, EDNS), valid while their tag (the service's snapshot
 * version, the service-list version) is unchanged. A hit costs a copy and a patch of the id, RD bit
 * and question case; encoding (dns2, with name compression) happens once per registry change and
 * rotation. Bounded: the oldest entry goes first.
 */
export class EncodedAnswers {
  readonly #entries = new Map<string, Entry>();
  #turn = 0;

  constructor(
    readonly maxEntries: number,
    readonly order: 'rotate' | 'random' | 'fixed',
    readonly counters: { cacheHits: number; truncated: number },
  ) {}

  #pick(n: number): number {
    if (this.order === 'fixed' || n <= 1) return 0;
    return this.order === 'rotate' ? this.#turn++ % n : Math.floor(Math.random() * n);
  }

  /** The answer for `query`; `build(rotation)` encodes one when none is cached for `tag`. */
  answer(
    cacheable: boolean,
    key: string,
    tag: string,
    query: Buffer,
    nameLength: number,
    build: (rotation: number) => Built,
  ): Buffer {
    let entry = this.#entries.get(key);
    if (!entry || entry.tag !== tag) {
      const first = build(0);
      entry = {
        tag,
        variants: new Array(Math.max(1, first.variants)).fill(undefined),
        truncated: first.truncated,
      };
      entry.variants[0] = first.buffer;
      if (cacheable) {
        this.#entries.delete(key);
        this.#entries.set(key, entry);
        if (this.#entries.size > this.maxEntries) {
          const oldest = this.#entries.keys().next().value;
          if (oldest !== undefined) this.#entries.delete(oldest);
        }
      }
    } else {
      this.counters.cacheHits++;
    }
    const idx = this.#pick(entry.variants.length);
    let buffer = entry.variants[idx];
    if (!buffer) {
      buffer = build(idx).buffer;
      entry.variants[idx] = buffer;
    }
    if (entry.truncated) this.counters.truncated++;
    return patchCached(buffer, query, nameLength);
  }

  clear(): void {
    this.#entries.clear();
  }
}

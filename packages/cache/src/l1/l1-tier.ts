import { opt, parseOptions } from '@switchyard/core/driver';
import type { StoredEntry } from '../entry.js';
import type { L1Options } from '../types.js';
import { type EvictionReason, WTinyLfu } from './w-tinylfu.js';

const PKG = 'cache';
const BRAND = Symbol.for('@switchyard/cache/L1Tier');
/** Bytes charged per entry beyond key and value (node, map slot, entry object). */
const OVERHEAD = 96;

export const L1_SCHEMA = {
  maxEntries: opt.integer(1, 50_000_000).default(10_000),
  maxBytes: opt.integer(1024).default(64 * 1024 * 1024),
  windowRatio: opt.number(0.001, 0.5).default(0.01),
};

/**
 * The in-process tier: decoded entries in a W-TinyLFU bounded by entries and bytes. Values are
 * held by reference (no copy per hit), like lru-cache: do not mutate what the cache returns.
 */
export class L1Tier {
  readonly [BRAND] = true;
  readonly #policy: WTinyLfu<StoredEntry>;
  #evictions = 0;
  onEvict: ((key: string, reason: EvictionReason) => void) | undefined;

  constructor(options: L1Options = {}) {
    const o = parseOptions(PKG, options, L1_SCHEMA, 'l1');
    this.#policy = new WTinyLfu<StoredEntry>({
      maxEntries: o.maxEntries,
      maxWeight: o.maxBytes,
      windowRatio: o.windowRatio,
      onEvict: (key, _value, reason) => {
        this.#evictions++;
        this.onEvict?.(key, reason);
      },
    });
  }

  get size(): number {
    return this.#policy.size;
  }

  get bytes(): number {
    return this.#policy.weight;
  }

  get evictions(): number {
    return this.#evictions;
  }

  get(key: string): StoredEntry | undefined {
    return this.#policy.get(key);
  }

  peek(key: string): StoredEntry | undefined {
    return this.#policy.peek(key);
  }

  set(key: string, entry: StoredEntry): void {
    this.#policy.set(key, entry, (entry.size + key.length) * 2 + OVERHEAD);
  }

  delete(key: string): boolean {
    return this.#policy.delete(key);
  }

  /**
   * Demotes every entry under `prefix` to stale (`suspect`): never served as fresh again, still at
   * hand as a last resort when the source fails. Used when invalidations may have been missed.
   */
  demotePrefix(prefix: string, now: number): number {
    let n = 0;
    for (const k of [...this.#policy.keys()]) {
      if (!k.startsWith(prefix)) continue;
      const e = this.#policy.peek(k)!;
      if (e.suspect) continue;
      this.#policy.replace(k, { ...e, freshUntil: Math.min(e.freshUntil, now), suspect: true });
      n++;
    }
    return n;
  }

  /** Drops every key starting with `prefix` (`''`: everything). */
  deletePrefix(prefix: string): number {
    if (prefix === '') {
      const n = this.#policy.size;
      this.#policy.clear();
      return n;
    }
    const doomed: string[] = [];
    for (const k of this.#policy.keys()) if (k.startsWith(prefix)) doomed.push(k);
    for (const k of doomed) this.#policy.delete(k);
    return doomed.length;
  }
}

export function isL1Tier(value: unknown): value is L1Tier {
  return typeof value === 'object' && value !== null && (value as { [BRAND]?: unknown })[BRAND] === true;
}

/** An L1 tier for `createCache({ tiers: [createL1Tier(), store] })`. */
export function createL1Tier(options: L1Options = {}): L1Tier {
  return new L1Tier(options);
}

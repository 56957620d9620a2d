import type { CacheStore } from '../contracts/cache-store.js';
import { defineCacheStore } from '../driver/cache/define-cache-store.js';
import { opt, parseOptions } from '../options/option-schema.js';
import { type Clock, systemClock } from '../primitives/clock.js';

const PKG = 'core';

interface Item {
  value: string;
  /** Monotonic expiry time, or Infinity. */
  expiresAt: number;
}

export interface MemoryCacheStoreOptions {
  clock?: Clock;
  /** Maximum number of entries; the least recently used is evicted beyond it (default 10 000). */
  maxEntries?: number;
}

/**
 * The embedded default cache store: a bounded LRU with per-entry TTL (lazy expiry on read, so no
 * timers). Map insertion order is the recency order.
 */
export function createMemoryCacheStore(options: MemoryCacheStoreOptions = {}): CacheStore {
  const o = parseOptions(PKG, options, {
    clock: opt.clock().default(systemClock),
    maxEntries: opt.integer(1).default(10_000),
  });
  const { clock, maxEntries } = o;
  const items = new Map<string, Item>();

  function read(key: string): string | undefined {
    const item = items.get(key);
    if (!item) return undefined;
    if (item.expiresAt <= clock.monotonic()) {
      items.delete(key);
      return undefined;
    }
    items.delete(key);
    items.set(key, item);
    return item.value;
  }

  /** Callers validate first. */
  function write(key: string, value: string, ttl: number | undefined): void {
    const expiresAt = ttl === undefined ? Number.POSITIVE_INFINITY : clock.monotonic() + ttl;
    items.delete(key);
    items.set(key, { value, expiresAt });
    while (items.size > maxEntries) {
      const oldest = items.keys().next().value as string;
      items.delete(oldest);
    }
  }

  return defineCacheStore(
    {
      name: 'memory',
      capabilities: { ttlGranularity: 'milliseconds', shared: false },
      async get(key) {
        return read(key);
      },
      async getMany(keys) {
        return keys.map(read);
      },
      async set(key, value, ttl) {
        write(key, value, ttl);
      },
      async setMany(entries) {
        for (const e of entries) write(e.key, e.value, e.ttl);
      },
      async delete(key) {
        const existed = read(key) !== undefined;
        items.delete(key);
        return existed;
      },
      async deleteMany(keys) {
        let n = 0;
        for (const k of keys) {
          if (read(k) !== undefined) n++;
          items.delete(k);
        }
        return n;
      },
      async has(key) {
        return read(key) !== undefined;
      },
      async clear(prefix) {
        if (prefix === '') return items.clear();
        for (const k of [...items.keys()]) if (k.startsWith(prefix)) items.delete(k);
      },
      async close() {
        items.clear();
      },
    },
    { pkg: PKG, clock },
  );
}

import type { CacheSetOptions, CacheStore, CacheStoreCapabilities } from '../contracts/cache-store.js';
import { invalidArgument, SwitchyardError } from '../errors.js';
import { throwIfAborted } from '../primitives/abort.js';
import { type Clock, systemClock } from '../primitives/clock.js';
import { assertDuration, assertInteger, assertKey, assertString } from '../validation.js';

const PKG = 'core/memory-cache';

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
  const clock = options.clock ?? systemClock;
  const maxEntries = assertInteger(PKG, 'maxEntries', options.maxEntries ?? 10_000, 1);
  const items = new Map<string, Item>();
  let closed = false;

  const capabilities: CacheStoreCapabilities = Object.freeze({
    ttlGranularity: 'milliseconds',
    batch: true,
    shared: false,
  });

  function assertOpen(): void {
    if (closed) throw new SwitchyardError('CLOSED', `[${PKG}] store is closed`);
  }

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

  const store: CacheStore = {
    name: 'memory',
    capabilities,
    async get(key, opts = {}) {
      assertOpen();
      assertKey(PKG, 'key', key);
      throwIfAborted(PKG, opts.signal);
      return read(key);
    },
    async getMany(keys, opts = {}) {
      assertOpen();
      if (!Array.isArray(keys)) throw invalidArgument(PKG, 'keys', 'must be an array');
      keys.forEach((k, i) => assertKey(PKG, `keys[${i}]`, k));
      throwIfAborted(PKG, opts.signal);
      return keys.map(read);
    },
    async set(key, value, opts: CacheSetOptions = {}) {
      assertOpen();
      assertKey(PKG, 'key', key);
      assertString(PKG, 'value', value);
      if (opts.ttl !== undefined) assertDuration(PKG, 'ttl', opts.ttl);
      throwIfAborted(PKG, opts.signal);
      write(key, value, opts.ttl);
    },
    async setMany(entries, opts = {}) {
      assertOpen();
      if (!Array.isArray(entries)) throw invalidArgument(PKG, 'entries', 'must be an array');
      throwIfAborted(PKG, opts.signal);
      entries.forEach((e, i) => {
        assertKey(PKG, `entries[${i}].key`, e?.key);
        assertString(PKG, `entries[${i}].value`, e.value);
        if (e.ttl !== undefined) assertDuration(PKG, `entries[${i}].ttl`, e.ttl);
      });
      for (const e of entries) write(e.key, e.value, e.ttl);
    },
    async delete(key, opts = {}) {
      assertOpen();
      assertKey(PKG, 'key', key);
      throwIfAborted(PKG, opts.signal);
      const existed = read(key) !== undefined;
      items.delete(key);
      return existed;
    },
    async deleteMany(keys, opts = {}) {
      assertOpen();
      if (!Array.isArray(keys)) throw invalidArgument(PKG, 'keys', 'must be an array');
      keys.forEach((k, i) => assertKey(PKG, `keys[${i}]`, k));
      throwIfAborted(PKG, opts.signal);
      let n = 0;
      for (const k of keys) {
        if (read(k) !== undefined) n++;
        items.delete(k);
      }
      return n;
    },
    async has(key, opts = {}) {
      assertOpen();
      assertKey(PKG, 'key', key);
      throwIfAborted(PKG, opts.signal);
      return read(key) !== undefined;
    },
    async clear(prefix, opts = {}) {
      assertOpen();
      if (prefix !== undefined) assertString(PKG, 'prefix', prefix);
      throwIfAborted(PKG, opts.signal);
      if (!prefix) return items.clear();
      for (const k of [...items.keys()]) if (k.startsWith(prefix)) items.delete(k);
    },
    async close() {
      closed = true;
      items.clear();
    },
    async [Symbol.asyncDispose]() {
      await store.close();
    },
  };
  return store;
}

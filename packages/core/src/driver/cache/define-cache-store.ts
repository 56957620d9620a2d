import type { CacheSetOptions, CacheStore, CacheStoreCapabilities } from '../../contracts/cache-store.js';
import { abortedError, closedError, invalidArgument } from '../../errors.js';
import { opt, parseOptions } from '../../options/option-schema.js';
import { type Clock, systemClock } from '../../primitives/clock.js';
import { assertDuration, assertKey, assertString } from '../../validation.js';
import { raceBackend } from '../backend-call.js';

/** One entry of a batch write. */
export interface CacheEntry {
  readonly key: string;
  readonly value: string;
  /** ms; omitted = no expiry. */
  readonly ttl?: number | undefined;
}

/**
 * The backend half of a cache store: four required calls; the batch forms and `has` are optional
 * and fall back to the single-key calls (run with bounded concurrency). Arguments reach the driver
 * already validated.
 */
export interface CacheStoreDriver {
  readonly name: string;
  readonly capabilities: Omit<CacheStoreCapabilities, 'batch'>;
  get(key: string, signal: AbortSignal | undefined): Promise<string | undefined>;
  /** `ttl` in ms, or `undefined` for no expiry. */
  set(key: string, value: string, ttl: number | undefined, signal: AbortSignal | undefined): Promise<void>;
  delete(key: string, signal: AbortSignal | undefined): Promise<boolean>;
  /** Removes every key starting with `prefix` (`''`: every key of this store). */
  clear(prefix: string, signal: AbortSignal | undefined): Promise<void>;
  has?(key: string, signal: AbortSignal | undefined): Promise<boolean>;
  getMany?(keys: readonly string[], signal: AbortSignal | undefined): Promise<(string | undefined)[]>;
  setMany?(entries: readonly CacheEntry[], signal: AbortSignal | undefined): Promise<void>;
  deleteMany?(keys: readonly string[], signal: AbortSignal | undefined): Promise<number>;
  close?(): Promise<void>;
}

export interface CacheStoreKitOptions {
  pkg: string;
  /** Deadline of one backend call, ms; omitted for in-process stores (no timer per call). */
  requestTimeout?: number;
  clock?: Clock;
  /** Longest key accepted (default 1 024 characters). */
  maxKeyLength?: number;
  /** Largest value accepted, in UTF-16 code units (default 16 MiB; Redis' own limit is 512 MiB). */
  maxValueLength?: number;
  /** Single-key calls run at once by a batch fallback (default 16). */
  batchConcurrency?: number;
}

const SIGNAL_ONLY = { signal: opt.signal() };

/**
 * Builds a `CacheStore` from a driver: validation that names the field (`key`, `keys[3]`,
 * `entries[0].ttl`), unknown option keys rejected, `ABORTED` for a fired signal, `CLOSED` after
 * close, a deadline and `BACKEND_UNAVAILABLE` mapping for every call, and batch fallbacks.
 */
export function defineCacheStore(driver: CacheStoreDriver, kit: CacheStoreKitOptions): CacheStore {
  const { pkg } = kit;
  const clock = kit.clock ?? systemClock;
  const maxKey = kit.maxKeyLength ?? 1024;
  const maxValue = kit.maxValueLength ?? 16 * 1024 * 1024;
  const concurrency = kit.batchConcurrency ?? 16;
  let closed = false;

  const capabilities: CacheStoreCapabilities = Object.freeze({
    ...driver.capabilities,
    batch: driver.getMany !== undefined && driver.setMany !== undefined,
  });

  function begin(options: unknown, what: string): AbortSignal | undefined {
    if (closed) throw closedError(pkg, `${driver.name} cache store`);
    const { signal } = parseOptions(pkg, options, SIGNAL_ONLY);
    if (signal?.aborted) throw abortedError(pkg, signal, what);
    return signal;
  }

  function run<T>(
    what: string,
    signal: AbortSignal | undefined,
    fn: (s: AbortSignal | undefined) => Promise<T>,
  ): Promise<T> {
    if (kit.requestTimeout === undefined) return fn(signal);
    // The hot path of every cache read: no AbortSignal per call (see `raceBackend`).
    return raceBackend(what, { pkg, clock, timeout: kit.requestTimeout, signal }, () => fn(signal));
  }

  const key = (field: string, value: unknown) => assertKey(pkg, field, value, maxKey);
  const value = (field: string, v: unknown) => {
    const s = assertString(pkg, field, v);
    if (s.length > maxValue)
      throw invalidArgument(pkg, field, `must be at most ${maxValue} characters, got ${s.length}`);
    return s;
  };
  const ttl = (field: string, v: unknown) => (v === undefined ? undefined : assertDuration(pkg, field, v));
  const keyList = (v: unknown) => {
    if (!Array.isArray(v)) throw invalidArgument(pkg, 'keys', 'must be an array of keys');
    return v.map((k, i) => key(`keys[${i}]`, k));
  };

  async function pool<T, R>(items: readonly T[], fn: (item: T) => Promise<R>): Promise<R[]> {
    const out = new Array<R>(items.length);
    let next = 0;
    const worker = async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i] as T);
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
    return out;
  }

  const store: CacheStore = {
    name: driver.name,
    capabilities,

    async get(k, options) {
      const signal = begin(options, 'get');
      key('key', k);
      return run('get', signal, (s) => driver.get(k, s));
    },

    async getMany(keys, options) {
      const signal = begin(options, 'getMany');
      const list = keyList(keys);
      if (list.length === 0) return [];
      if (driver.getMany) return run('getMany', signal, (s) => driver.getMany!(list, s));
      return run('getMany', signal, (s) => pool(list, (k) => driver.get(k, s)));
    },

    async set(k, v, options: CacheSetOptions = {}) {
      if (closed) throw closedError(pkg, `${driver.name} cache store`);
      const o = parseOptions(pkg, options, {
        ttl: opt.custom((t, at) => ttl(at.field, t)),
        signal: opt.signal(),
      });
      key('key', k);
      value('value', v);
      if (o.signal?.aborted) throw abortedError(pkg, o.signal, 'set');
      return run('set', o.signal, (s) => driver.set(k, v, o.ttl, s));
    },

    async setMany(entries, options) {
      const signal = begin(options, 'setMany');
      if (!Array.isArray(entries))
        throw invalidArgument(pkg, 'entries', 'must be an array of { key, value, ttl? }');
      const list: CacheEntry[] = entries.map((e, i) => {
        const f = `entries[${i}]`;
        const o = parseOptions(
          pkg,
          e,
          {
            key: opt.custom((x, at) => key(at.field, x)).required(),
            value: opt.custom((x, at) => value(at.field, x)).required(),
            ttl: opt.custom((x, at) => ttl(at.field, x)),
          },
          f,
        );
        return o.ttl === undefined
          ? { key: o.key, value: o.value }
          : { key: o.key, value: o.value, ttl: o.ttl };
      });
      if (list.length === 0) return;
      if (driver.setMany) return run('setMany', signal, (s) => driver.setMany!(list, s));
      await run('setMany', signal, (s) => pool(list, (e) => driver.set(e.key, e.value, e.ttl, s)));
    },

    async delete(k, options) {
      const signal = begin(options, 'delete');
      key('key', k);
      return run('delete', signal, (s) => driver.delete(k, s));
    },

    async deleteMany(keys, options) {
      const signal = begin(options, 'deleteMany');
      const list = keyList(keys);
      if (list.length === 0) return 0;
      if (driver.deleteMany) return run('deleteMany', signal, (s) => driver.deleteMany!(list, s));
      const removed = await run('deleteMany', signal, (s) => pool(list, (k) => driver.delete(k, s)));
      return removed.filter(Boolean).length;
    },

    async has(k, options) {
      const signal = begin(options, 'has');
      key('key', k);
      if (driver.has) return run('has', signal, (s) => driver.has!(k, s));
      return (await run('has', signal, (s) => driver.get(k, s))) !== undefined;
    },

    async clear(prefix, options) {
      const signal = begin(options, 'clear');
      const p = prefix === undefined || prefix === '' ? '' : key('prefix', prefix);
      return run('clear', signal, (s) => driver.clear(p, s));
    },

    async close() {
      if (closed) return;
      closed = true;
      await driver.close?.();
    },

    async [Symbol.asyncDispose]() {
      await store.close();
    },
  };
  return store;
}

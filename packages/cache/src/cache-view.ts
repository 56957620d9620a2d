import { abortedError, assertFunction, assertKey, invalidArgument, type Unsubscribe } from '@switchyard/core';
import { parseOptions } from '@switchyard/core/driver';
import type { CacheEngine } from './cache-engine.js';
import type { CacheEventMap } from './cache-events.js';
import * as ops from './cache-operations.js';
import { NO_TAGS, normaliseTags } from './entry.js';
import { type GetOrSetCall, getOrSetSlow, l1Hit, NOT_IN_L1 } from './get-or-set.js';
import { MISSING } from './missing.js';
import {
  assertTag,
  GET_OR_SET_SCHEMA,
  GET_SCHEMA,
  NAMESPACE_NAME,
  SIGNAL_SCHEMA,
  WARM_SCHEMA,
  WRITE_SCHEMA,
} from './options.js';
import type { Scope } from './scope.js';
import type {
  CacheNamespace,
  GetOptions,
  GetOrSetOptions,
  Loader,
  SetManyEntry,
  WarmOptions,
  WarmResult,
  WriteOptions,
} from './types.js';
import { warm } from './warm-up.js';

const PKG = 'cache';
/** Parsed "no options" (the common call pays no parsing). */
const NO_GET = parseOptions(PKG, undefined, GET_SCHEMA);
const NO_WRITE = parseOptions(PKG, undefined, WRITE_SCHEMA);
const NO_SIGNAL = parseOptions(PKG, undefined, SIGNAL_SCHEMA);

/** Defaults of the cache, applied to every call. */
export interface CallDefaults {
  ttl: number;
  grace: number;
  negativeTtl: number;
  softTimeout: number;
  hardTimeout: number;
  earlyRefresh: number;
  maxKeyLength: number;
  hashTag: boolean;
}

/** The public face of one namespace: validation, defaults, then the engine. */
export class CacheView implements CacheNamespace {
  readonly path: string;
  protected readonly engine: CacheEngine;
  readonly #defaults: CallDefaults;
  readonly #scope: Scope;
  readonly #call: GetOrSetCall;
  readonly #maxKey: number;

  constructor(engine: CacheEngine, path: string, defaults: CallDefaults) {
    this.engine = engine;
    this.path = path;
    this.#defaults = defaults;
    const prefix = path === '' ? '' : defaults.hashTag ? `{${path}}:` : `${path}:`;
    this.#scope = engine.scope(path, prefix);
    this.#maxKey = defaults.maxKeyLength - prefix.length;
    this.#call = {
      ttl: defaults.ttl,
      grace: defaults.grace,
      tags: NO_TAGS,
      tagsKey: undefined,
      negativeTtl: defaults.negativeTtl,
      softTimeout: defaults.softTimeout,
      hardTimeout: defaults.hardTimeout,
      earlyRefresh: defaults.earlyRefresh,
      useLock: true,
      signal: undefined,
    };
  }

  #key(key: unknown, field = 'key'): string {
    if (
      typeof key === 'string' &&
      key.length > 0 &&
      key.length <= this.#maxKey &&
      key.indexOf('\u0000') === -1
    )
      return key;
    return assertKey(PKG, field, key, this.#maxKey);
  }

  #keys(keys: unknown): string[] {
    if (!Array.isArray(keys)) throw invalidArgument(PKG, 'keys', 'must be an array of keys');
    return keys.map((k, i) => this.#key(k, `keys[${i}]`));
  }

  #begin(signal: AbortSignal | undefined, what: string): void {
    this.engine.assertOpen();
    if (signal?.aborted) throw abortedError(PKG, signal, what);
  }

  #write(o: {
    ttl?: number | undefined;
    grace?: number | undefined;
    tags?: string[] | undefined;
  }): ops.WriteCall {
    return {
      ttl: o.ttl ?? this.#defaults.ttl,
      grace: o.grace ?? this.#defaults.grace,
      tags: o.tags ?? NO_TAGS,
    };
  }

  async get<T = unknown>(key: string, options?: GetOptions): Promise<T | undefined> {
    const o = options === undefined ? NO_GET : parseOptions(PKG, options, GET_SCHEMA);
    this.#begin(o.signal, 'get');
    const k = this.#key(key);
    const local = ops.freshInL1(this.engine, this.#scope, k);
    const e = local ?? (await ops.find(this.engine, this.#scope, k, o.allowStale ?? false, true));
    return e === undefined || e.value === MISSING ? undefined : (e.value as T);
  }

  async has(key: string, options?: GetOptions): Promise<boolean> {
    const o = options === undefined ? NO_GET : parseOptions(PKG, options, GET_SCHEMA);
    this.#begin(o.signal, 'has');
    const e = await ops.find(this.engine, this.#scope, this.#key(key), o.allowStale ?? false);
    return e !== undefined && e.value !== MISSING;
  }

  async getOrSet<T>(key: string, loader: Loader<T>, options?: GetOrSetOptions): Promise<T> {
    const k = this.#key(key);
    if (typeof loader !== 'function') assertFunction(PKG, 'loader', loader);
    let call = this.#call;
    if (options !== undefined) {
      const o = parseOptions(PKG, options, GET_OR_SET_SCHEMA);
      const tags = o.tags === undefined ? undefined : normaliseTags(o.tags);
      call = {
        ttl: o.ttl ?? call.ttl,
        grace: o.grace ?? call.grace,
        tags: tags ?? NO_TAGS,
        tagsKey: tags === undefined ? undefined : tags.join(','),
        negativeTtl: o.negativeTtl ?? call.negativeTtl,
        softTimeout: o.softTimeout ?? call.softTimeout,
        hardTimeout: o.hardTimeout ?? call.hardTimeout,
        earlyRefresh: o.earlyRefresh ?? call.earlyRefresh,
        useLock: o.lock ?? true,
        signal: o.signal,
      };
    }
    this.#begin(call.signal, 'getOrSet');
    const scope = this.#scope;
    const fullKey = scope.prefix === '' ? k : scope.prefix + k;
    const hit = l1Hit(this.engine, scope, fullKey, k, loader, call);
    return hit !== NOT_IN_L1 ? hit : getOrSetSlow(this.engine, scope, fullKey, k, loader, call);
  }

  async set<T>(key: string, value: T, options?: WriteOptions): Promise<void> {
    const o = options === undefined ? NO_WRITE : parseOptions(PKG, options, WRITE_SCHEMA);
    this.#begin(o.signal, 'set');
    await ops.set(this.engine, this.#scope, this.#key(key), value, this.#write(o), o.signal);
  }

  async delete(key: string, options?: { signal?: AbortSignal }): Promise<boolean> {
    const o = options === undefined ? NO_SIGNAL : parseOptions(PKG, options, SIGNAL_SCHEMA);
    this.#begin(o.signal, 'delete');
    return (await ops.deleteMany(this.engine, this.#scope, [this.#key(key)], o.signal)) > 0;
  }

  async getMany<T = unknown>(keys: readonly string[], options?: GetOptions): Promise<(T | undefined)[]> {
    const o = options === undefined ? NO_GET : parseOptions(PKG, options, GET_SCHEMA);
    this.#begin(o.signal, 'getMany');
    const found = await ops.getMany(this.engine, this.#scope, this.#keys(keys), o.allowStale ?? false);
    return found.map((e) => (e === undefined || e.value === MISSING ? undefined : (e.value as T)));
  }

  async setMany<T>(entries: readonly SetManyEntry<T>[], options?: { signal?: AbortSignal }): Promise<void> {
    const o = options === undefined ? NO_SIGNAL : parseOptions(PKG, options, SIGNAL_SCHEMA);
    this.#begin(o.signal, 'setMany');
    if (!Array.isArray(entries))
      throw invalidArgument(PKG, 'entries', 'must be an array of { key, value, ttl?, grace?, tags? }');
    const { signal: _ignored, ...entrySchema } = WRITE_SCHEMA;
    const list = entries.map((e, i) => {
      const field = `entries[${i}]`;
      if (typeof e !== 'object' || e === null) throw invalidArgument(PKG, field, 'must be an object');
      const { key, value, ...rest } = e as SetManyEntry<T>;
      if (!('value' in (e as object))) throw invalidArgument(PKG, `${field}.value`, 'is required');
      const w = parseOptions(PKG, rest, entrySchema, field);
      return { key: this.#key(key, `${field}.key`), value: value as unknown, write: this.#write(w) };
    });
    if (list.length > 0) await ops.setMany(this.engine, this.#scope, list, o.signal);
  }

  async deleteMany(keys: readonly string[], options?: { signal?: AbortSignal }): Promise<number> {
    const o = options === undefined ? NO_SIGNAL : parseOptions(PKG, options, SIGNAL_SCHEMA);
    this.#begin(o.signal, 'deleteMany');
    const list = this.#keys(keys);
    return list.length === 0 ? 0 : ops.deleteMany(this.engine, this.#scope, list, o.signal);
  }

  async clear(options?: { signal?: AbortSignal }): Promise<void> {
    const o = options === undefined ? NO_SIGNAL : parseOptions(PKG, options, SIGNAL_SCHEMA);
    this.#begin(o.signal, 'clear');
    await ops.clear(this.engine, this.#scope, o.signal);
  }

  deleteByTag(tags: string | readonly string[], options?: { signal?: AbortSignal }): Promise<void> {
    return this.#tags(tags, 'delete', options);
  }

  expireByTag(tags: string | readonly string[], options?: { signal?: AbortSignal }): Promise<void> {
    return this.#tags(tags, 'expire', options);
  }

  async #tags(tags: unknown, mode: 'delete' | 'expire', options: unknown): Promise<void> {
    const o = options === undefined ? NO_SIGNAL : parseOptions(PKG, options, SIGNAL_SCHEMA);
    this.#begin(o.signal, `${mode}ByTag`);
    const list = typeof tags === 'string' ? [assertTag(PKG, 'tags', tags)] : undefined;
    const checked =
      list ??
      (Array.isArray(tags)
        ? tags.map((t, i) => assertTag(PKG, `tags[${i}]`, t))
        : (() => {
            throw invalidArgument(PKG, 'tags', 'must be a tag or an array of tags');
          })());
    if (checked.length > 0) await ops.invalidateTags(this.engine, this.#scope, checked, mode, o.signal);
  }

  async warm<T>(
    keys: readonly string[],
    loader: (key: string) => T | Promise<T>,
    options?: WarmOptions,
  ): Promise<WarmResult> {
    const o = parseOptions(PKG, options, WARM_SCHEMA);
    this.#begin(o.signal, 'warm');
    const list = this.#keys(keys);
    assertFunction(PKG, 'loader', loader);
    return warm(this.engine, this.#scope, list, loader, { ...o, write: this.#write(o) });
  }

  namespace(name: string): CacheNamespace {
    if (typeof name !== 'string' || !NAMESPACE_NAME.test(name)) {
      throw invalidArgument(PKG, 'name', 'must be 1-128 letters, digits, "_", "." or "-"');
    }
    return new CacheView(this.engine, this.path === '' ? name : `${this.path}:${name}`, this.#defaults);
  }

  on<K extends keyof CacheEventMap>(event: K, listener: (payload: CacheEventMap[K]) => void): Unsubscribe {
    assertFunction(PKG, 'listener', listener);
    return this.engine.events.on(event, listener);
  }
}

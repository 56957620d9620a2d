import type { CacheStore, Clock, DistributedLock, Unsubscribe } from '@switchyard/core';
import type { BusTransport } from './bus/bus-transport.js';
import type { CacheEventMap } from './cache-events.js';
import type { L1Tier } from './l1/l1-tier.js';
import type { Serializer } from './serializer.js';

/** What a loader gets: the key, a signal, the stale value if one exists, and per-entry overrides. */
export interface LoaderContext<T = unknown> {
  /** The key asked for (without the namespace). */
  readonly key: string;
  /** Fires when the cache closes. A caller's `signal` or a timeout does not stop a shared load. */
  readonly signal: AbortSignal;
  /** True when a stale value is at hand (`stale` holds it; it may itself be `undefined`). */
  readonly hasStale: boolean;
  readonly stale: T | undefined;
  /** Overrides the TTL of the entry being loaded (adaptive caching), ms. */
  setTtl(ttl: number): void;
  /** Overrides the grace period of the entry being loaded, ms (0: none). */
  setGrace(grace: number): void;
  /** Overrides the tags of the entry being loaded. */
  setTags(tags: readonly string[]): void;
}

export type Loader<T> = (context: LoaderContext<T>) => T | Promise<T>;

/** Options of one write (`set`, `setMany` entries, and the entry a `getOrSet` loads). */
export interface WriteOptions {
  /** Time to live, ms (default: the cache's `ttl`). */
  ttl?: number;
  /** How long after `ttl` a stale value may still be served (SWR / stale-on-error), ms. */
  grace?: number;
  /** Tags of the entry, for `deleteByTag` / `expireByTag`. */
  tags?: readonly string[];
  signal?: AbortSignal;
}

export interface GetOrSetOptions extends WriteOptions {
  /**
   * With a stale value at hand: how long to wait for the loader before serving the stale value
   * (the load goes on in the background), ms. `0` (default) = stale-while-revalidate.
   */
  softTimeout?: number;
  /** Longest wait for the loader, ms: past it `TIMEOUT` (the load goes on and still fills the cache). */
  hardTimeout?: number;
  /** TTL of a `MISSING` result, ms. */
  negativeTtl?: number;
  /** XFetch β (default: the cache's `earlyRefresh`); `0` disables early refresh for this call. */
  earlyRefresh?: number;
  /** Use the cross-process stampede lock for this call (default true when the cache has one). */
  lock?: boolean;
}

export interface GetOptions {
  /** Also return a stale (graced) value rather than `undefined` (default false). */
  allowStale?: boolean;
  signal?: AbortSignal;
}

export interface SetManyEntry<T = unknown> {
  key: string;
  value: T;
  ttl?: number;
  grace?: number;
  tags?: readonly string[];
}

export interface WarmOptions extends Omit<WriteOptions, 'signal'> {
  /** Loaders running at once (default 8). */
  concurrency?: number;
  /** Reload keys that are already fresh (default false: they are skipped). */
  force?: boolean;
  signal?: AbortSignal;
}

export interface WarmResult {
  loaded: number;
  skipped: number;
  failed: number;
  errors: { key: string; error: unknown }[];
}

/** Counters of one namespace. `hits[i]` counts hits answered by tier `i` (0 = L1 when present). */
export interface NamespaceStats {
  readonly hits: readonly number[];
  readonly misses: number;
  readonly staleServed: number;
  readonly negativeHits: number;
  readonly rejected: number;
  readonly loads: number;
  readonly loadErrors: number;
  readonly loadTimeMs: number;
  readonly earlyRefreshes: number;
  readonly sets: number;
  readonly deletes: number;
}

export interface CacheStats {
  readonly namespaces: Readonly<Record<string, NamespaceStats>>;
  readonly l1: { readonly entries: number; readonly bytes: number; readonly evictions: number } | undefined;
  readonly tiers: readonly { readonly name: string; readonly open: boolean; readonly failures: number }[];
  readonly bus:
    | {
        readonly connected: boolean;
        readonly trusted: boolean;
        readonly gaps: number;
        readonly flushes: number;
        readonly received: number;
        readonly published: number;
        /** Longest time an L1 entry can be served after a write elsewhere, ms (see README). */
        readonly stalenessBoundMs: number;
      }
    | undefined;
}

/** One namespace of a cache: every operation is scoped to its keys. */
export interface CacheNamespace {
  /** Namespace path (`''` for the root, `'users'`, `'users:admins'`). */
  readonly path: string;
  get<T = unknown>(key: string, options?: GetOptions): Promise<T | undefined>;
  getOrSet<T>(key: string, loader: Loader<T>, options?: GetOrSetOptions): Promise<T>;
  set<T>(key: string, value: T, options?: WriteOptions): Promise<void>;
  has(key: string, options?: GetOptions): Promise<boolean>;
  delete(key: string, options?: { signal?: AbortSignal }): Promise<boolean>;
  getMany<T = unknown>(keys: readonly string[], options?: GetOptions): Promise<(T | undefined)[]>;
  setMany<T>(entries: readonly SetManyEntry<T>[], options?: { signal?: AbortSignal }): Promise<void>;
  deleteMany(keys: readonly string[], options?: { signal?: AbortSignal }): Promise<number>;
  /** Removes every key of this namespace (and of its sub-namespaces) from every tier. */
  clear(options?: { signal?: AbortSignal }): Promise<void>;
  /** Hard: entries carrying any of `tags` are gone (no grace). */
  deleteByTag(tags: string | readonly string[], options?: { signal?: AbortSignal }): Promise<void>;
  /** Soft: entries carrying any of `tags` are stale (served within their grace while refreshing). */
  expireByTag(tags: string | readonly string[], options?: { signal?: AbortSignal }): Promise<void>;
  /** Loads `keys` with bounded concurrency (progress as `cache:warm` events). */
  warm<T>(
    keys: readonly string[],
    loader: (key: string) => T | Promise<T>,
    options?: WarmOptions,
  ): Promise<WarmResult>;
  namespace(name: string): CacheNamespace;
  on<K extends keyof CacheEventMap>(event: K, listener: (payload: CacheEventMap[K]) => void): Unsubscribe;
}

export interface Cache extends CacheNamespace, AsyncDisposable {
  readonly name: string;
  stats(): CacheStats;
  close(): Promise<void>;
}

/** Anything with `has(key)`: a Bloom filter of the keys that exist (see `createBloomFilter`). */
export interface KeyPrefilter {
  has(key: string): boolean;
}

export interface StampedeLockOptions {
  lock: DistributedLock;
  /** Longest wait for another process' load before loading here, ms (default 3 000). */
  wait?: number;
  /** Lease of the lock, ms (default 15 000). */
  ttl?: number;
}

export interface L1Options {
  /** Most entries (default 10 000). */
  maxEntries?: number;
  /** Most bytes (UTF-16 size of the serialised value + key + ~96 B overhead; default 64 MiB). */
  maxBytes?: number;
  /** Admission window share (default 0.01). */
  windowRatio?: number;
}

export interface CompressionOptions {
  algorithm: 'brotli' | 'gzip' | 'zstd';
  /** Compress serialised values at least this long, characters (default 1 024). */
  threshold?: number;
}

export interface CreateCacheOptions {
  /** Name: channel of the bus, key of the stampede lock, label of stats (default `default`). */
  name?: string;
  /** The in-process L1 (W-TinyLFU); `false` for none (default `{ maxEntries: 10 000 }`). */
  l1?: L1Options | false;
  /** The shared tier below L1. */
  l2?: CacheStore;
  /** Or every tier in lookup order: an `L1Tier` (at most one, first) and any number of stores. */
  tiers?: readonly (CacheStore | L1Tier)[];
  ttl?: number;
  grace?: number;
  /** TTLs are shortened by up to this share at random (avalanche protection; default 0.1). */
  ttlJitter?: number;
  negativeTtl?: number;
  softTimeout?: number;
  hardTimeout?: number;
  /** XFetch β: >0 refreshes probabilistically before expiry (default 1); `0` = off. */
  earlyRefresh?: number;
  /** Delay before a failed loader is retried while a stale value is served: `{ base, max, factor }`. */
  loaderBackoff?: { base?: number; max?: number; factor?: number; random?: () => number };
  /** After a store failure, skip that store for this long, ms (default 2 000; 0 = never skip). */
  breakerDuration?: number;
  /** When a store read fails in `getOrSet`, call the loader anyway (default true). */
  fallbackToLoader?: boolean;
  serializer?: Serializer;
  compression?: CompressionOptions | false;
  /** Optional cross-process stampede lock. */
  lock?: StampedeLockOptions;
  /** Optional penetration prefilter: keys it says do not exist are `MISSING` without a lookup. */
  prefilter?: KeyPrefilter;
  /** Invalidation bus for a coherent L1 across processes. */
  bus?: BusTransport;
  /** Heartbeat of the bus (sequence numbers and liveness), ms (default 1 000). */
  heartbeatInterval?: number;
  /** Wrap namespace paths in `{…}` hash tags (Redis Cluster: one slot per namespace). */
  hashTagNamespaces?: boolean;
  maxKeyLength?: number;
  clock?: Clock;
}

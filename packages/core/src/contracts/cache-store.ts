/**
 * A cache store is a dumb key/value driver with TTLs: the smart parts (loaders, single-flight,
 * tiers, tags, grace) live in the cache package on top. Values are strings (the cache serialises).
 */
export interface CacheStoreCapabilities {
  readonly ttlGranularity: 'milliseconds' | 'seconds';
  /** Native batch operations (otherwise the batch forms loop). */
  readonly batch: boolean;
  /** Shared between processes (Redis, etcd) or local to one (memory). */
  readonly shared: boolean;
}

export interface CacheSetOptions {
  /** Time to live in ms; omitted = no expiry. */
  ttl?: number;
  signal?: AbortSignal;
}

export interface CacheStore extends AsyncDisposable {
  readonly name: string;
  readonly capabilities: CacheStoreCapabilities;
  get(key: string, options?: { signal?: AbortSignal }): Promise<string | undefined>;
  /** Values in the order of `keys`; `undefined` where missing or expired. */
  getMany(keys: readonly string[], options?: { signal?: AbortSignal }): Promise<(string | undefined)[]>;
  set(key: string, value: string, options?: CacheSetOptions): Promise<void>;
  setMany(
    entries: readonly { key: string; value: string; ttl?: number }[],
    options?: { signal?: AbortSignal },
  ): Promise<void>;
  /** Resolves `true` if the key existed. */
  delete(key: string, options?: { signal?: AbortSignal }): Promise<boolean>;
  deleteMany(keys: readonly string[], options?: { signal?: AbortSignal }): Promise<number>;
  has(key: string, options?: { signal?: AbortSignal }): Promise<boolean>;
  /** Removes every key that starts with `prefix` (all keys of this store when omitted). */
  clear(prefix?: string, options?: { signal?: AbortSignal }): Promise<void>;
  close(): Promise<void>;
}

export type CacheStoreFactory<Options = unknown> = (options: Options) => CacheStore;

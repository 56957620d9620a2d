/**
 * A versioned key/value store for configuration. Every write yields a store-wide, strictly
 * increasing revision; compare-and-set is by the key's revision; history is kept; a rollback is a
 * new revision whose value is the old one; `watch` delivers every change in order, at least once.
 */
export interface ConfigEntry {
  readonly key: string;
  readonly value: string;
  /** Revision of the write that produced this value (store-wide, strictly increasing). */
  readonly revision: number;
  /** Revision at which the key was created (reset after a delete). */
  readonly createRevision: number;
  /** Number of writes to this key since it was created, starting at 1. */
  readonly version: number;
  readonly author?: string | undefined;
  readonly message?: string | undefined;
  /** Wall-clock ms of the write. */
  readonly updatedAt: number;
}

export interface ConfigChange {
  readonly type: 'put' | 'delete';
  readonly key: string;
  /** The new entry (for `delete`, the entry as it was deleted). */
  readonly entry: ConfigEntry;
  readonly revision: number;
}

export interface ConfigHistoryRecord extends ConfigEntry {
  readonly type: 'put' | 'delete';
}

export interface ConfigWriteOptions {
  /**
   * Compare-and-set: the write succeeds only if the key's current revision equals this one;
   * `0` means "the key must not exist". A mismatch rejects with `CONFLICT`.
   */
  expectedRevision?: number;
  author?: string;
  message?: string;
  signal?: AbortSignal;
}

export interface ConfigStoreCapabilities {
  /** Native push watch (true) or polling. */
  readonly watch: boolean;
  /** How many history records per key are kept (Infinity = all). */
  readonly historyLimit: number;
}

export interface ConfigStore extends AsyncDisposable {
  readonly name: string;
  readonly capabilities: ConfigStoreCapabilities;
  get(key: string, options?: { signal?: AbortSignal }): Promise<ConfigEntry | undefined>;
  /** Entries whose key starts with `prefix`, sorted by key, and the store revision they were read at. */
  list(
    prefix: string,
    options?: { signal?: AbortSignal },
  ): Promise<{ entries: ConfigEntry[]; revision: number }>;
  put(key: string, value: string, options?: ConfigWriteOptions): Promise<ConfigEntry>;
  /** Resolves `true` if the key existed. With `expectedRevision`, a mismatch rejects with `CONFLICT`. */
  delete(key: string, options?: ConfigWriteOptions): Promise<boolean>;
  /** Newest first. */
  history(key: string, options?: { limit?: number; signal?: AbortSignal }): Promise<ConfigHistoryRecord[]>;
  /** Writes the value the key had at `revision` as a new revision. `NOT_FOUND` if that revision is unknown. */
  rollback(
    key: string,
    revision: number,
    options?: Omit<ConfigWriteOptions, 'expectedRevision'>,
  ): Promise<ConfigEntry>;
  /**
   * Changes under `prefix` in revision order, at least once. With `fromRevision`, first replays every
   * change after that revision; if the history was compacted past it, emits the current value of
   * every key under the prefix (and deletes for keys that vanished are not guaranteed) instead.
   */
  watch(
    prefix: string,
    options?: { fromRevision?: number; signal?: AbortSignal },
  ): AsyncIterable<ConfigChange>;
  close(): Promise<void>;
}

export type ConfigStoreFactory<Options = unknown> = (options: Options) => ConfigStore;

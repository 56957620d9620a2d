import type {
  ConfigChange,
  ConfigEntry,
  ConfigHistoryRecord,
  ConfigStore,
  ConfigStoreCapabilities,
  ConfigWriteOptions,
} from '../contracts/config-store.js';
import { SwitchyardError } from '../errors.js';
import { throwIfAborted } from '../primitives/abort.js';
import { AsyncChannel } from '../primitives/channel.js';
import { type Clock, systemClock } from '../primitives/clock.js';
import type { Unsubscribe } from '../primitives/emitter.js';
import { assertInteger, assertKey, assertNonEmptyString, assertString } from '../validation.js';

const PKG = 'core';

/** Shared versioned state: several clients on one state behave like several processes on one server. */
export class MemoryConfigState {
  readonly clock: Clock;
  readonly historyLimit: number;
  readonly logLimit: number;
  revision = 0;
  readonly current = new Map<string, ConfigEntry>();
  readonly history = new Map<string, ConfigHistoryRecord[]>();
  /** Recent changes for watch replay; older ones are compacted away. */
  readonly log: ConfigChange[] = [];
  readonly #listeners = new Set<(change: ConfigChange) => void>();

  constructor(options: { clock?: Clock; historyLimit?: number; logLimit?: number } = {}) {
    this.clock = options.clock ?? systemClock;
    this.historyLimit = options.historyLimit ?? 100;
    this.logLimit = options.logLimit ?? 10_000;
  }

  /** Oldest revision still replayable by `watch({ fromRevision })`. */
  get compactedBefore(): number {
    return this.log[0]?.revision ?? this.revision + 1;
  }

  write(
    type: 'put' | 'delete',
    key: string,
    value: string,
    options: ConfigWriteOptions,
  ): ConfigEntry | undefined {
    const prev = this.current.get(key);
    if (options.expectedRevision !== undefined && (prev?.revision ?? 0) !== options.expectedRevision) {
      throw new SwitchyardError(
        'CONFLICT',
        `[${PKG}] "${key}" is at revision ${prev?.revision ?? 0}, expected ${options.expectedRevision}`,
        { details: { key, expected: options.expectedRevision, actual: prev?.revision ?? 0 } },
      );
    }
    if (type === 'delete' && !prev) return undefined;
    const revision = ++this.revision;
    const entry: ConfigEntry = Object.freeze({
      key,
      value: type === 'put' ? value : (prev?.value ?? ''),
      revision,
      createRevision: type === 'put' && prev ? prev.createRevision : revision,
      version: type === 'put' ? (prev?.version ?? 0) + 1 : (prev?.version ?? 0),
      author: options.author,
      message: options.message,
      updatedAt: this.clock.now(),
    });
    if (type === 'put') this.current.set(key, entry);
    else this.current.delete(key);
    let h = this.history.get(key);
    if (!h) {
      h = [];
      this.history.set(key, h);
    }
    h.unshift(Object.freeze({ ...entry, type }));
    if (h.length > this.historyLimit) h.length = this.historyLimit;
    const change: ConfigChange = Object.freeze({ type, key, entry, revision });
    this.log.push(change);
    if (this.log.length > this.logLimit) this.log.splice(0, this.log.length - this.logLimit);
    for (const l of [...this.#listeners]) l(change);
    return entry;
  }

  subscribe(listener: (change: ConfigChange) => void): Unsubscribe {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}

export interface MemoryConfigStoreOptions {
  state?: MemoryConfigState;
  clock?: Clock;
  /** History records kept per key (default 100). */
  historyLimit?: number;
}

/** The embedded default config store: revisions, CAS, history, rollback, ordered watch with replay. */
export function createMemoryConfigStore(options: MemoryConfigStoreOptions = {}): ConfigStore {
  const historyLimit = assertInteger(PKG, 'historyLimit', options.historyLimit ?? 100, 1);
  const state = options.state ?? new MemoryConfigState({ clock: options.clock ?? systemClock, historyLimit });
  const watches = new Set<AsyncChannel<ConfigChange>>();
  let closed = false;

  const capabilities: ConfigStoreCapabilities = Object.freeze({
    watch: true,
    historyLimit: state.historyLimit,
  });

  function assertOpen(): void {
    if (closed) throw new SwitchyardError('CLOSED', `[${PKG}] store is closed`);
  }

  function validateWrite(opts: ConfigWriteOptions): void {
    if (opts.expectedRevision !== undefined) assertInteger(PKG, 'expectedRevision', opts.expectedRevision, 0);
    if (opts.author !== undefined) assertNonEmptyString(PKG, 'author', opts.author, 256);
    if (opts.message !== undefined) assertString(PKG, 'message', opts.message);
    throwIfAborted(PKG, opts.signal);
  }

  const store: ConfigStore = {
    name: 'memory',
    capabilities,
    async get(key, opts = {}) {
      assertOpen();
      assertKey(PKG, 'key', key);
      throwIfAborted(PKG, opts.signal);
      return state.current.get(key);
    },
    async list(prefix, opts = {}) {
      assertOpen();
      assertString(PKG, 'prefix', prefix);
      throwIfAborted(PKG, opts.signal);
      const entries = [...state.current.values()]
        .filter((e) => e.key.startsWith(prefix))
        .sort((a, b) => (a.key < b.key ? -1 : 1));
      return { entries, revision: state.revision };
    },
    async put(key, value, opts = {}) {
      assertOpen();
      assertKey(PKG, 'key', key);
      assertString(PKG, 'value', value);
      validateWrite(opts);
      return state.write('put', key, value, opts)!;
    },
    async delete(key, opts = {}) {
      assertOpen();
      assertKey(PKG, 'key', key);
      validateWrite(opts);
      return state.write('delete', key, '', opts) !== undefined;
    },
    async history(key, opts = {}) {
      assertOpen();
      assertKey(PKG, 'key', key);
      const limit = assertInteger(PKG, 'limit', opts.limit ?? state.historyLimit, 1);
      throwIfAborted(PKG, opts.signal);
      return (state.history.get(key) ?? []).slice(0, limit);
    },
    async rollback(key, revision, opts = {}) {
      assertOpen();
      assertKey(PKG, 'key', key);
      assertInteger(PKG, 'revision', revision, 1);
      validateWrite(opts);
      const record = (state.history.get(key) ?? []).find((r) => r.revision === revision && r.type === 'put');
      if (!record) {
        throw new SwitchyardError(
          'NOT_FOUND',
          `[${PKG}] "${key}" has no value at revision ${revision} in its history`,
          {
            details: { key, revision },
          },
        );
      }
      return state.write('put', key, record.value, {
        ...opts,
        message: opts.message ?? `rollback to revision ${revision}`,
      })!;
    },
    watch(prefix, opts = {}) {
      assertOpen();
      assertString(PKG, 'prefix', prefix);
      if (opts.fromRevision !== undefined) assertInteger(PKG, 'fromRevision', opts.fromRevision, 0);
      let unsubscribe: Unsubscribe = () => {};
      const channel = new AsyncChannel<ConfigChange>({
        onReturn: () => {
          unsubscribe();
          watches.delete(channel);
        },
      });
      watches.add(channel);
      let delivered = state.revision;
      if (opts.fromRevision !== undefined && opts.fromRevision < state.revision) {
        if (opts.fromRevision + 1 >= state.compactedBefore) {
          for (const c of state.log)
            if (c.revision > opts.fromRevision && c.key.startsWith(prefix)) channel.push(c);
        } else {
          // Compacted past fromRevision: deliver the current state as puts (at-least-once).
          for (const e of state.current.values()) {
            if (e.key.startsWith(prefix) && e.revision > opts.fromRevision) {
              channel.push({ type: 'put', key: e.key, entry: e, revision: e.revision });
            }
          }
        }
      } else if (opts.fromRevision !== undefined) delivered = opts.fromRevision;
      unsubscribe = state.subscribe((c) => {
        if (c.revision <= delivered || !c.key.startsWith(prefix)) return;
        delivered = c.revision;
        channel.push(c);
      });
      const stop = () => {
        unsubscribe();
        watches.delete(channel);
        channel.close();
      };
      if (opts.signal?.aborted) stop();
      opts.signal?.addEventListener('abort', stop, { once: true });
      return channel;
    },
    async close() {
      if (closed) return;
      closed = true;
      for (const w of watches) w.close();
      watches.clear();
    },
    async [Symbol.asyncDispose]() {
      await store.close();
    },
  };
  return store;
}

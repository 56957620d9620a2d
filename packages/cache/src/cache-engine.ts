import { abortedError, type Backoff, type Clock, closedError, SwitchyardError } from '@switchyard/core';
import type { Coherence } from './bus/coherence.js';
import { CacheEvents, NamespaceCounters } from './cache-events.js';
import { makeEntry, normaliseTags, type StoredEntry, storeTtl } from './entry.js';
import type { EntryCodec } from './entry-codec.js';
import type { L1Tier } from './l1/l1-tier.js';
import type { LoadCoordinator, LoadHost, LoadSettings, ResolvedLock } from './load-coordinator.js';
import { MISSING } from './missing.js';
import type { Scope } from './scope.js';
import type { StoreTier } from './store-tier.js';
import { TAG_DELETED, TAG_EXPIRED, TagRegistry } from './tag-registry.js';
import type { KeyPrefilter } from './types.js';

export const FRESH = 0;
export const STALE = 1;
export const DEAD = 2;

export interface EngineConfig {
  name: string;
  clock: Clock;
  l1: L1Tier | undefined;
  tiers: StoreTier[];
  codec: EntryCodec;
  ttlJitter: number;
  backoff: Backoff;
  fallbackToLoader: boolean;
  lock: ResolvedLock | undefined;
  prefilter: KeyPrefilter | undefined;
}

export interface ReadResult {
  fresh?: StoredEntry | undefined;
  /** Index of the store that answered `fresh`. */
  tier: number;
  stale?: StoredEntry | undefined;
  error?: unknown;
}

/**
 * State shared by every namespace of one cache: the tiers, entry codec, tag registry, loads and
 * the bus. The read and write primitives live here; `getOrSet` in `get-or-set.ts`, batches in
 * `cache-batch.ts`, the public validation in `cache-view.ts`.
 */
export class CacheEngine implements LoadHost {
  readonly name: string;
  readonly clock: Clock;
  readonly l1: L1Tier | undefined;
  readonly tiers: StoreTier[];
  readonly codec: EntryCodec;
  readonly events = new CacheEvents();
  readonly tags = new TagRegistry();
  readonly lock: ResolvedLock | undefined;
  readonly backoff: Backoff;
  readonly prefilter: KeyPrefilter | undefined;
  readonly fallbackToLoader: boolean;
  /** 1 when tier 0 of the stats is the L1. */
  readonly l1Offset: number;
  loads!: LoadCoordinator;
  coherence: Coherence | undefined;
  readonly #jitter: number;
  readonly #close = new AbortController();
  readonly #reads = new Map<string, Promise<ReadResult>>();
  readonly #scopes = new Map<string, Scope>();
  closed = false;

  constructor(c: EngineConfig) {
    this.name = c.name;
    this.clock = c.clock;
    this.l1 = c.l1;
    this.tiers = c.tiers;
    this.codec = c.codec;
    this.lock = c.lock;
    this.backoff = c.backoff;
    this.prefilter = c.prefilter;
    this.fallbackToLoader = c.fallbackToLoader;
    this.#jitter = c.ttlJitter;
    this.l1Offset = c.l1 ? 1 : 0;
    if (c.l1) {
      c.l1.onEvict = (key, reason) => {
        if (this.events.wants('cache:evicted'))
          this.events.emit('cache:evicted', { cache: this.name, key, reason });
      };
    }
  }

  get closeSignal(): AbortSignal {
    return this.#close.signal;
  }

  scope(path: string, prefix: string): Scope {
    let s = this.#scopes.get(path);
    if (!s) {
      s = { path, prefix, counters: new NamespaceCounters(this.l1Offset + this.tiers.length) };
      this.#scopes.set(path, s);
    }
    return s;
  }

  scopes(): IterableIterator<Scope> {
    return this.#scopes.values();
  }

  assertOpen(): void {
    if (this.closed) throw closedError('cache', `cache "${this.name}"`);
  }

  /** FRESH, STALE or DEAD at `now`, tag invalidations included; `tagsKey` must match when given. */
  classify(e: StoredEntry, now: number, prefix: string, tagsKey?: string): number {
    if (e.staleUntil <= now) return DEAD;
    if (tagsKey !== undefined && e.tagsKey !== tagsKey) return DEAD;
    let state = e.freshUntil > now && e.suspect === undefined ? FRESH : STALE;
    if (e.tags.length > 0) {
      const t = this.tags.check(e, prefix);
      if (t === TAG_DELETED) return DEAD;
      if (t === TAG_EXPIRED) state = STALE;
    }
    return state;
  }

  /** Puts into L1; while the bus cannot vouch for L1, an entry is fresh there for one heartbeat at most. */
  l1Put(fullKey: string, e: StoredEntry, now: number): void {
    if (!this.l1) return;
    const cap = this.coherence?.untrustedCap();
    if (cap !== undefined && e.freshUntil > now + cap) e = { ...e, freshUntil: now + cap };
    this.l1.set(fullKey, e);
  }

  /** Reads the stores in order (one read per key at a time); backfills the tiers above a hit. */
  readStores(scope: Scope, fullKey: string): Promise<ReadResult> {
    const running = this.#reads.get(fullKey);
    if (running) return running;
    const p = this.#readStores(scope, fullKey).finally(() => this.#reads.delete(fullKey));
    this.#reads.set(fullKey, p);
    return p;
  }

  async #readStores(scope: Scope, fullKey: string): Promise<ReadResult> {
    let stale: StoredEntry | undefined;
    let error: unknown;
    for (let i = 0; i < this.tiers.length; i++) {
      const tier = this.tiers[i]!;
      let text: string | undefined;
      try {
        text = await tier.call('get', (s) => s.get(fullKey));
      } catch (e) {
        error ??= e;
        this.reportError(scope.path, 'read', e, fullKey);
        continue;
      }
      if (text === undefined) continue;
      const e = this.codec.decode(text);
      if (!e) continue;
      if (e.tags.length > 0) {
        // With a bus, known tag records are kept current by it; without one, re-read them.
        await this.tags.load(tier, e, scope.prefix, this.coherence !== undefined).catch((err) => {
          error ??= err;
        });
      }
      const now = this.clock.now();
      const state = this.classify(e, now, scope.prefix);
      if (state === DEAD) continue;
      this.#backfill(fullKey, e, text, i, now);
      if (state === FRESH) return { fresh: e, tier: i, error };
      stale ??= e;
    }
    return { stale, tier: -1, error };
  }

  #backfill(fullKey: string, e: StoredEntry, text: string, found: number, now: number): void {
    this.l1Put(fullKey, e, now);
    const ttl = storeTtl(e, now);
    if (ttl !== undefined && ttl < 1) return;
    for (let j = 0; j < found; j++) {
      this.tiers[j]!.call('backfill', (s) =>
        s.set(fullKey, text, ttl === undefined ? {} : { ttl: Math.ceil(ttl) }),
      ).catch((error) => this.reportError('', 'backfill', error, fullKey));
    }
  }

  /** A fresh entry in the stores (read again, not shared with other readers). */
  async recheck(scope: Scope, fullKey: string): Promise<StoredEntry | undefined> {
    const r = await this.#readStores(scope, fullKey);
    return r.fresh;
  }

  /** `ttl` shortened by up to `ttlJitter` at random: entries written together do not expire together. */
  jittered(ttl: number): number {
    if (this.#jitter === 0 || !Number.isFinite(ttl)) return ttl;
    return ttl * (1 - this.#jitter * Math.random());
  }

  entryFor(
    value: unknown,
    s: LoadSettings,
    createdAt: number,
    delta: number,
  ): { entry: StoredEntry; payload: string } {
    const payload = this.codec.payload(value);
    const times =
      value === MISSING ? { ttl: s.negativeTtl, grace: 0 } : { ttl: this.jittered(s.ttl), grace: s.grace };
    const now = this.clock.now();
    return {
      entry: makeEntry(value, times, now, createdAt, delta, normaliseTags(s.tags), payload.length),
      payload,
    };
  }

  /**
   * Writes `entry` to every tier, then tells the other processes. Store failures are thrown
   * (`rethrow`, for `set`) or reported as `cache:error` (a load's write-back).
   */
  async write(
    scope: Scope,
    fullKey: string,
    entry: StoredEntry,
    payload: string,
    rethrow = false,
    signal?: AbortSignal,
  ): Promise<void> {
    const now = this.clock.now();
    this.l1Put(fullKey, entry, now);
    let failure: unknown;
    if (this.tiers.length > 0) {
      const ttl = storeTtl(entry, now);
      if (ttl === undefined || ttl >= 1) {
        const text = this.codec.encode(entry, payload);
        const options = {
          ...(ttl === undefined ? {} : { ttl: Math.ceil(ttl) }),
          ...(signal ? { signal } : {}),
        };
        const results = await Promise.allSettled(
          this.tiers.map((t) => t.call('set', (s) => s.set(fullKey, text, options))),
        );
        for (const r of results) if (r.status === 'rejected') failure ??= r.reason;
      }
    }
    this.coherence?.invalidate(scope.prefix, [fullKey]);
    if (this.events.wants('cache:written')) {
      this.events.emit('cache:written', { cache: this.name, namespace: scope.path, keys: [fullKey] });
    }
    if (failure === undefined) return;
    if (rethrow) throw failure;
    this.reportError(scope.path, 'write', failure, fullKey);
  }

  /** Runs `fn` on every store; throws the first failure after all have been tried. */
  async eachStore<T>(what: string, fn: (t: StoreTier) => Promise<T>): Promise<T[]> {
    const results = await Promise.allSettled(this.tiers.map((t) => t.call(what, () => fn(t))));
    const failed = results.find((r) => r.status === 'rejected');
    if (failed) throw (failed as PromiseRejectedResult).reason;
    return results.map((r) => (r as PromiseFulfilledResult<T>).value);
  }

  reportError(namespace: string, operation: string, error: unknown, key?: string): void {
    this.events.emit('cache:error', {
      cache: this.name,
      namespace,
      operation,
      error,
      ...(key === undefined ? {} : { key }),
    });
  }

  /** Waits for `p` at most `ms` (`Infinity`: no bound) and while `signal` has not fired. */
  settle<T>(
    p: Promise<T>,
    ms: number,
    signal: AbortSignal | undefined,
  ): Promise<{ ok: true; value: T } | { ok: false; timeout: boolean; error?: unknown }> {
    return new Promise((resolve, reject) => {
      let timer: ReturnType<Clock['setTimeout']> | undefined;
      const done = () => {
        this.clock.clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
      };
      const onAbort = () => {
        done();
        reject(abortedError('cache', signal, 'getOrSet'));
      };
      if (signal?.aborted) return onAbort();
      signal?.addEventListener('abort', onAbort, { once: true });
      if (Number.isFinite(ms)) {
        timer = this.clock.setTimeout(() => {
          done();
          resolve({ ok: false, timeout: true });
        }, ms);
      }
      p.then(
        (value) => {
          done();
          resolve({ ok: true, value });
        },
        (error: unknown) => {
          done();
          resolve({ ok: false, timeout: false, error });
        },
      );
    });
  }

  // Invalidations from the bus (other processes' writes).

  dropKeys(fullKeys: readonly string[]): void {
    for (const k of fullKeys) {
      this.l1?.delete(k);
      this.loads.supersede(k);
    }
  }

  dropPrefix(prefix: string): number {
    this.tags.forgetPrefix(prefix);
    this.loads.supersedePrefix(prefix);
    return this.l1?.deletePrefix(prefix) ?? 0;
  }

  /** Invalidations may have been missed: L1 entries under `prefix` become last-resort stale values. */
  demotePrefix(prefix: string): number {
    this.tags.forgetPrefix(prefix);
    this.loads.supersedePrefix(prefix);
    return this.l1?.demotePrefix(prefix, this.clock.now()) ?? 0;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.#close.abort(new SwitchyardError('CLOSED', `[cache] cache "${this.name}" is closed`));
    await this.coherence?.close();
    this.l1?.deletePrefix('');
  }
}

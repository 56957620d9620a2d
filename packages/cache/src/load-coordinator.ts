import {
  assertDuration,
  type Backoff,
  type Clock,
  type DistributedLock,
  isSwitchyardError,
  type LockLease,
} from '@switchyard/core';
import type { CacheEvents } from './cache-events.js';
import type { StoredEntry } from './entry.js';
import { MISSING } from './missing.js';
import type { Scope } from './scope.js';
import type { Loader, LoaderContext } from './types.js';

export interface LoadSettings {
  ttl: number;
  grace: number;
  tags: readonly string[];
  negativeTtl: number;
  useLock: boolean;
}

export interface ResolvedLock {
  lock: DistributedLock;
  wait: number;
  ttl: number;
}

/** What the coordinator needs from the cache engine. */
export interface LoadHost {
  readonly name: string;
  readonly clock: Clock;
  readonly closeSignal: AbortSignal;
  readonly lock: ResolvedLock | undefined;
  readonly backoff: Backoff;
  readonly events: CacheEvents;
  /** An entry for a loaded value (TTL jitter applied), and its payload. */
  entryFor(
    value: unknown,
    s: LoadSettings,
    createdAt: number,
    delta: number,
  ): { entry: StoredEntry; payload: string };
  /** Writes every tier and publishes the invalidation; absorbs store errors (as events). */
  write(scope: Scope, fullKey: string, entry: StoredEntry, payload: string): Promise<void>;
  /** After taking the stampede lock: a fresh entry another process stored meanwhile. */
  recheck(scope: Scope, fullKey: string): Promise<StoredEntry | undefined>;
}

interface Flight {
  promise: Promise<StoredEntry>;
  /** A write (set, delete, invalidation) happened meanwhile: return the value, do not store it. */
  superseded: boolean;
}

/**
 * Runs loaders: one load per key at a time in this process (single-flight), optionally one across
 * processes (the stampede lock: the holder loads and stores, the others wait for it, then read the
 * store; a bounded wait falls back to loading here). Remembers failures per key so a failing source
 * is retried with backoff while stale values are served.
 */
export class LoadCoordinator {
  readonly #host: LoadHost;
  readonly #flights = new Map<string, Flight>();
  readonly #failures = new Map<string, { count: number; retryAt: number }>();

  constructor(host: LoadHost) {
    this.#host = host;
  }

  get inFlight(): number {
    return this.#flights.size;
  }

  has(fullKey: string): boolean {
    return this.#flights.has(fullKey);
  }

  /** True while a failed key waits for its backoff (serve the stale value meanwhile). */
  backingOff(fullKey: string): boolean {
    const f = this.#failures.get(fullKey);
    return f !== undefined && f.retryAt > this.#host.clock.monotonic();
  }

  supersede(fullKey: string): void {
    const f = this.#flights.get(fullKey);
    if (f) f.superseded = true;
    this.#failures.delete(fullKey);
  }

  supersedePrefix(prefix: string): void {
    for (const [k, f] of this.#flights) if (k.startsWith(prefix)) f.superseded = true;
  }

  run<T>(
    scope: Scope,
    fullKey: string,
    key: string,
    loader: Loader<T>,
    settings: LoadSettings,
    stale: StoredEntry | undefined,
  ): Promise<StoredEntry> {
    const running = this.#flights.get(fullKey);
    if (running) return running.promise;
    const flight: Flight = { promise: undefined as unknown as Promise<StoredEntry>, superseded: false };
    flight.promise = this.#load(
      flight,
      scope,
      fullKey,
      key,
      loader as Loader<unknown>,
      settings,
      stale,
    ).finally(() => {
      if (this.#flights.get(fullKey) === flight) this.#flights.delete(fullKey);
    });
    this.#flights.set(fullKey, flight);
    return flight.promise;
  }

  async #load(
    flight: Flight,
    scope: Scope,
    fullKey: string,
    key: string,
    loader: Loader<unknown>,
    settings: LoadSettings,
    stale: StoredEntry | undefined,
  ): Promise<StoredEntry> {
    const host = this.#host;
    let lease: LockLease | undefined;
    try {
      if (host.lock && settings.useLock) {
        lease = await this.#acquire(scope, fullKey);
        if (lease) {
          const stored = await host.recheck(scope, fullKey).catch(() => undefined);
          if (stored) return stored;
        }
      }
      const createdAt = host.clock.now();
      const s = { ...settings };
      const context: LoaderContext<unknown> = {
        key,
        signal: host.closeSignal,
        hasStale: stale !== undefined && stale.value !== MISSING,
        stale: stale === undefined || stale.value === MISSING ? undefined : stale.value,
        setTtl: (ttl) => {
          s.ttl = checkMs('ttl', ttl);
        },
        setGrace: (grace) => {
          s.grace = checkMs('grace', grace, true);
        },
        setTags: (tags) => {
          s.tags = tags;
        },
      };
      const t0 = host.clock.monotonic();
      let value: unknown;
      try {
        value = await loader(context);
      } catch (error) {
        scope.counters.loadErrors++;
        const f = this.#failures.get(fullKey) ?? { count: 0, retryAt: 0 };
        f.retryAt = host.clock.monotonic() + host.backoff(f.count++);
        this.#failures.set(fullKey, f);
        throw error;
      }
      const delta = host.clock.monotonic() - t0;
      this.#failures.delete(fullKey);
      scope.counters.loads++;
      scope.counters.loadTimeMs += delta;
      const { entry, payload } = host.entryFor(value, s, createdAt, Math.round(delta));
      if (!flight.superseded) await host.write(scope, fullKey, entry, payload);
      if (host.events.wants('cache:loaded')) {
        host.events.emit('cache:loaded', {
          cache: host.name,
          namespace: scope.path,
          key,
          duration: delta,
          negative: value === MISSING,
        });
      }
      return entry;
    } finally {
      lease?.release().catch(() => {});
    }
  }

  /** The stampede lock, or `undefined` when waiting timed out or the lock backend failed (load here). */
  async #acquire(scope: Scope, fullKey: string): Promise<LockLease | undefined> {
    const { lock, wait, ttl } = this.#host.lock!;
    try {
      return await lock.acquire(`cache:${this.#host.name}:${fullKey}`, {
        wait,
        ttl,
        signal: this.#host.closeSignal,
      });
    } catch (error) {
      if (!isSwitchyardError(error, 'LOCK_TIMEOUT')) {
        this.#host.events.emit('cache:error', {
          cache: this.#host.name,
          namespace: scope.path,
          operation: 'stampede lock',
          key: fullKey,
          error,
        });
      }
      return undefined;
    }
  }
}

function checkMs(field: 'ttl' | 'grace', v: unknown, allowZero = false): number {
  const name = field === 'ttl' ? 'context.setTtl(ttl)' : 'context.setGrace(grace)';
  return v === Number.POSITIVE_INFINITY ? v : assertDuration('cache', name, v, { allowZero });
}

import { type Channel, channel } from 'node:diagnostics_channel';
import { DIAGNOSTICS_PREFIX, type DiagnosticSource, Emitter, type Unsubscribe } from '@switchyard/core';
import type { NamespaceStats } from './types.js';

/** Events of a cache (`cache.on(…)`), also published on `switchyard:<event>` diagnostics channels. */
export interface CacheEventMap {
  /** `tier`: 0 = the first tier (L1 when present). */
  'cache:hit': { cache: string; namespace: string; key: string; tier: number };
  'cache:miss': { cache: string; namespace: string; key: string };
  /** A stale value was served: within grace while refreshing, on loader error, timeout, or backoff. */
  'cache:stale': {
    cache: string;
    namespace: string;
    key: string;
    reason: 'refresh' | 'error' | 'timeout' | 'backoff' | 'store';
  };
  'cache:loaded': { cache: string; namespace: string; key: string; duration: number; negative: boolean };
  'cache:refresh': { cache: string; namespace: string; key: string; reason: 'early' | 'stale' };
  'cache:written': { cache: string; namespace: string; keys: readonly string[] };
  'cache:deleted': { cache: string; namespace: string; keys: readonly string[] };
  'cache:cleared': { cache: string; namespace: string };
  'cache:tags': { cache: string; namespace: string; tags: readonly string[]; mode: 'delete' | 'expire' };
  'cache:evicted': { cache: string; key: string; reason: 'capacity' | 'size' };
  /** A failure the cache absorbed (a store write, a background refresh, a bus publish). */
  'cache:error': { cache: string; namespace: string; operation: string; key?: string; error: unknown };
  'cache:warm': { cache: string; namespace: string; done: number; total: number; failed: number };
  /** The bus lost messages (a sequence gap) from one publisher. */
  'cache:gap': { cache: string; namespace: string; publisher: string; expected: number; received: number };
  /** L1 entries dropped because invalidations may have been missed. */
  'cache:flush': {
    cache: string;
    namespace: string;
    reason: 'gap' | 'reconnect' | 'silent' | 'start' | 'tracking';
    entries: number;
  };
  'cache:bus': { cache: string; state: 'connected' | 'disconnected' | 'silent'; cause?: unknown };
}

export type CacheEventName = keyof CacheEventMap;

/** Events with a cheap "does anyone listen" check, so the hit path builds no payload for nobody. */
export class CacheEvents {
  readonly emitter = new Emitter<CacheEventMap>({ diagnostics: true, source: 'cache' });
  readonly #channels = new Map<CacheEventName, Channel>();

  on<K extends CacheEventName>(event: K, listener: (payload: CacheEventMap[K]) => void): Unsubscribe {
    return this.emitter.on(event, listener);
  }

  wants(event: CacheEventName): boolean {
    let ch = this.#channels.get(event);
    if (!ch) {
      ch = channel(DIAGNOSTICS_PREFIX + event);
      this.#channels.set(event, ch);
    }
    return ch.hasSubscribers || this.emitter.listenerCount(event) > 0;
  }

  emit<K extends CacheEventName>(event: K, payload: CacheEventMap[K]): void {
    this.emitter.emit(event, payload);
  }
}

/** Mutable counters of one namespace (a view holds its own, no lookup per call). */
export class NamespaceCounters {
  hits: number[];
  misses = 0;
  staleServed = 0;
  negativeHits = 0;
  rejected = 0;
  loads = 0;
  loadErrors = 0;
  loadTimeMs = 0;
  earlyRefreshes = 0;
  sets = 0;
  deletes = 0;

  constructor(tiers: number) {
    this.hits = new Array<number>(tiers).fill(0);
  }

  snapshot(): NamespaceStats {
    return {
      hits: [...this.hits],
      misses: this.misses,
      staleServed: this.staleServed,
      negativeHits: this.negativeHits,
      rejected: this.rejected,
      loads: this.loads,
      loadErrors: this.loadErrors,
      loadTimeMs: this.loadTimeMs,
      earlyRefreshes: this.earlyRefreshes,
      sets: this.sets,
      deletes: this.deletes,
    };
  }
}

/** The cache's diagnostics channels and their payloads (`source: 'cache'`). */
export type CacheDiagnosticsPayloads = {
  [K in CacheEventName as `switchyard:${K}`]: CacheEventMap[K] & DiagnosticSource;
};

declare module '@switchyard/core' {
  interface DiagnosticsPayloads extends CacheDiagnosticsPayloads {}
}

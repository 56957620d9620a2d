import {
  type Backoff,
  type Clock,
  deadlineSignal,
  publishDiagnostic,
  raceSignal,
  SwitchyardError,
  sleep,
} from '@switchyard/core';
import { apiFailure, fromStatus, isExpired, isRetriable, isTooLarge } from './api-error.js';
import type { ListPage, ResourceClient } from './kube-api.js';
import type { WatchEvent } from './watch-request.js';

export type KubeItem = Record<string, unknown> & { metadata?: { resourceVersion?: string } };

/** Where a reflector delivers what it learns. */
export interface ReflectorSink {
  /** A (re)list completed with the full current set (`initial` for the first). The cache is fresh again. */
  replace(items: readonly KubeItem[], initial: boolean): void;
  event(type: 'ADDED' | 'MODIFIED' | 'DELETED', object: KubeItem): void;
  /** The API cannot be reached or the stream went silent: the cache may be stale until `up` or `replace`. */
  down(error: unknown): void;
  /** A watch is established again after `down`, resuming without a relist. */
  up(): void;
}

export interface ReflectorStats {
  /** Lists run (initial and relists). */
  readonly lists: number;
  readonly pages: number;
  /** 410 Gone / Expired seen (watch start, mid-stream, list, continue token). */
  readonly expired: number;
  /** Lists that had to fall back to a consistent read (`resourceVersion=""`). */
  readonly fromScratch: number;
  readonly watchesOpened: number;
  /** Watches that ended (server timeout, dropped stream) and were resumed from the last version. */
  readonly watchResumes: number;
  readonly watchdogFires: number;
  /** Anti-entropy relists (`resyncInterval`). */
  readonly resyncs: number;
  readonly bookmarks: number;
  readonly events: number;
  readonly failures: number;
  readonly lastResourceVersion: string;
}

export interface ReflectorOptions {
  pkg: string;
  client: ResourceClient;
  sink: ReflectorSink;
  clock: Clock;
  /** Delays between list+watch rounds after failures (client-go: 800 ms doubling to 30 s). */
  backoff: Backoff;
  /** `limit` of list pages (0: one request). */
  pageSize: number;
  /** No event and no bookmark for this long → relist, ms (0: never). */
  quietTimeout: number;
  /** Relist this long after the last list even when all looks well (anti-entropy), ms (0: never). */
  resyncInterval: number;
  /** Deadline of a list page and of a watch's response headers, ms. */
  requestTimeout: number;
  /** Server-side watch timeout is random in [min, 2 × min), ms (client-go: 5 minutes). */
  minWatchTimeout: number;
  random: () => number;
}

type Outcome = 'resume' | 'short' | 'expired' | 'too-large' | 'watchdog' | 'resync' | { error: unknown };

/** client-go's backoff manager forgets failures after this long without one. */
const BACKOFF_RESET_MS = 120_000;
/** A watch that ends this soon with no event is an error ("very short watch"). */
const SHORT_WATCH_MS = 1_000;

/**
 * A TypeScript port of client-go's `Reflector` (tools/cache/reflector.go) for one resource in one
 * scope: list (paged; `resourceVersion` "0" first, then the last seen version, then "" after an
 * Expired/TooLarge answer), watch from the list's version with bookmarks and a randomised 5–10 min
 * server timeout, resume from the last seen version after a normal end, relist after 410 Gone,
 * exponential backoff between rounds, and a watchdog that relists a stream that went silent. It
 * never stops until `stop()`.
 */
export class Reflector {
  readonly #o: ReflectorOptions;
  readonly #stop = new AbortController();
  #done: Promise<void> | undefined;
  #lastSyncRV = '';
  #unavailable = false;
  #paginatedResult = false;
  #synced = false;
  #down = false;
  #retryAfter: number | undefined;
  #relistReason = 'initial';
  #listedAt = 0;
  readonly #syncWaiters = new Set<() => void>();
  #stats = {
    lists: 0,
    pages: 0,
    expired: 0,
    fromScratch: 0,
    watchesOpened: 0,
    watchResumes: 0,
    watchdogFires: 0,
    resyncs: 0,
    bookmarks: 0,
    events: 0,
    failures: 0,
  };

  constructor(options: ReflectorOptions) {
    this.#o = options;
  }

  get synced(): boolean {
    return this.#synced;
  }

  get stats(): ReflectorStats {
    return { ...this.#stats, lastResourceVersion: this.#lastSyncRV };
  }

  start(): void {
    this.#done ??= this.#run();
  }

  /** Resolves once the first list has been delivered; rejects when `signal` fires first. */
  whenSynced(signal: AbortSignal): Promise<void> {
    if (this.#synced) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const done = () => {
        signal.removeEventListener('abort', onAbort);
        this.#syncWaiters.delete(done);
        resolve();
      };
      const onAbort = () => {
        this.#syncWaiters.delete(done);
        reject(signal.reason);
      };
      if (signal.aborted) return onAbort();
      signal.addEventListener('abort', onAbort, { once: true });
      this.#syncWaiters.add(done);
    });
  }

  async stop(): Promise<void> {
    this.#stop.abort(
      new SwitchyardError('CLOSED', `[${this.#o.pkg}] watch of ${this.#o.client.what} stopped`),
    );
    await this.#done;
  }

  #diag(event: string, extra: Record<string, unknown>): void {
    publishDiagnostic(event, { resource: this.#o.client.what, ...extra }, this.#o.pkg);
  }

  #markDown(error: unknown): void {
    if (this.#down) return;
    this.#down = true;
    this.#o.sink.down(error);
  }

  async #run(): Promise<void> {
    const { clock, backoff } = this.#o;
    const stop = this.#stop.signal;
    let failures = 0;
    let lastBackoff = Number.NEGATIVE_INFINITY;
    while (!stop.aborted) {
      let immediate = false;
      try {
        await this.#list();
        immediate = (await this.#watchLoop()) === 'now';
      } catch (error) {
        if (stop.aborted) break;
        this.#stats.failures++;
        this.#relistReason = 'error';
        this.#markDown(error);
        this.#diag('k8s:error', { error });
      }
      if (stop.aborted || immediate) continue;
      const now = clock.monotonic();
      if (now - lastBackoff >= BACKOFF_RESET_MS) failures = 0;
      lastBackoff = now;
      const delay = Math.max(backoff(failures++), this.#retryAfter ?? 0);
      this.#retryAfter = undefined;
      try {
        await sleep(delay, { clock, signal: stop, pkg: this.#o.pkg, unref: true });
      } catch {
        break;
      }
    }
  }

  /** client-go `relistResourceVersion`: "" after Expired/TooLarge, "0" before the first sync, else the last seen. */
  #relistRV(): string {
    if (this.#unavailable) return '';
    return this.#lastSyncRV === '' ? '0' : this.#lastSyncRV;
  }

  async #list(): Promise<void> {
    const started = this.#o.clock.monotonic();
    const rv = this.#relistRV();
    let result: { items: KubeItem[]; resourceVersion: string; pages: number };
    try {
      result = await this.#pagedList(rv);
    } catch (error) {
      const f = apiFailure(error);
      if (!isExpired(f) && !isTooLarge(f)) throw error;
      // The version is compacted or not reached (a new history): read from scratch, at once.
      if (isExpired(f)) this.#stats.expired++;
      this.#unavailable = true;
      this.#stats.fromScratch++;
      result = await this.#pagedList('');
    }
    this.#unavailable = false;
    this.#listedAt = this.#o.clock.monotonic();
    this.#lastSyncRV = result.resourceVersion;
    this.#stats.lists++;
    const initial = !this.#synced;
    this.#synced = true;
    this.#o.sink.replace(result.items, initial);
    this.#down = false;
    this.#diag('k8s:list', {
      reason: this.#relistReason,
      resourceVersion: rv,
      items: result.items.length,
      pages: result.pages,
      ms: Math.round(this.#o.clock.monotonic() - started),
    });
    if (initial) for (const w of [...this.#syncWaiters]) w();
  }

  async #page(params: Parameters<ResourceClient['list']>[0]): Promise<ListPage> {
    const { client, clock, requestTimeout, pkg } = this.#o;
    const deadline = deadlineSignal(requestTimeout, {
      parent: this.#stop.signal,
      clock,
      what: `list of ${client.what}`,
    });
    try {
      this.#stats.pages++;
      return await raceSignal(
        client.list(params, deadline.signal),
        deadline.signal,
        pkg,
        `list of ${client.what}`,
      );
    } catch (error) {
      this.#retryAfter = apiFailure(error).retryAfter;
      throw error;
    } finally {
      deadline.dispose();
    }
  }

  /** A list in pages (client-go `ListPager`): a continue token that expires falls back to one full list. */
  async #pagedList(rv: string): Promise<{ items: KubeItem[]; resourceVersion: string; pages: number }> {
    // client-go: with a specific version and a server that did not page before, one request served by the watch cache.
    const limit = !this.#paginatedResult && rv !== '' && rv !== '0' ? 0 : this.#o.pageSize;
    const resourceVersion = rv === '' ? undefined : rv;
    const items: KubeItem[] = [];
    let first = await this.#page({ resourceVersion, ...(limit > 0 ? { limit } : {}) });
    let pages = 1;
    if (first.continueToken !== undefined && rv === '0') this.#paginatedResult = true;
    let current = first;
    items.push(...(current.items as KubeItem[]));
    while (current.continueToken !== undefined) {
      try {
        current = await this.#page({ continueToken: current.continueToken, limit });
        pages++;
        items.push(...(current.items as KubeItem[]));
      } catch (error) {
        if (!isExpired(apiFailure(error))) throw error;
        this.#stats.expired++;
        this.#diag('k8s:expired', { during: 'list-continue' });
        first = await this.#page({ resourceVersion });
        return {
          items: [...(first.items as KubeItem[])],
          resourceVersion: first.resourceVersion,
          pages: pages + 1,
        };
      }
    }
    return { items, resourceVersion: first.resourceVersion, pages };
  }

  /** Watches until a relist is needed: `'backoff'` (after the round's backoff) or `'now'`. */
  async #watchLoop(): Promise<'backoff' | 'now'> {
    const { clock, backoff, pkg } = this.#o;
    const stop = this.#stop.signal;
    let startFailures = 0;
    for (;;) {
      let outcome: Outcome;
      try {
        outcome = await this.#watchOnce();
      } catch (error) {
        if (stop.aborted) return 'backoff';
        const f = apiFailure(error);
        if (isExpired(f)) {
          this.#stats.expired++;
          this.#relistReason = 'expired';
          this.#diag('k8s:expired', { during: 'watch-start' });
          return 'backoff';
        }
        if (isTooLarge(f)) {
          this.#unavailable = true;
          this.#relistReason = 'too-large';
          return 'backoff';
        }
        if (!isRetriable(f)) throw error;
        // Refused, reset, 429 or 5xx: back off and watch again from the same version, no relist.
        this.#stats.failures++;
        this.#markDown(error);
        this.#diag('k8s:error', { error, during: 'watch-start' });
        const delay = Math.max(backoff(startFailures++), f.retryAfter ?? 0);
        await sleep(delay, { clock, signal: stop, pkg, unref: true }).catch(() => {});
        if (stop.aborted) return 'backoff';
        continue;
      }
      startFailures = 0;
      if (stop.aborted) return 'backoff';
      if (outcome === 'resume') {
        this.#stats.watchResumes++;
        continue;
      }
      if (outcome === 'expired') {
        this.#stats.expired++;
        this.#relistReason = 'expired';
        this.#diag('k8s:expired', { during: 'watch' });
        return 'backoff';
      }
      if (outcome === 'too-large') {
        this.#unavailable = true;
        this.#relistReason = 'too-large';
        return 'backoff';
      }
      if (outcome === 'watchdog') {
        this.#stats.watchdogFires++;
        this.#relistReason = 'watchdog';
        const error = new SwitchyardError(
          'BACKEND_UNAVAILABLE',
          `[${pkg}] watch of ${this.#o.client.what} sent no event and no bookmark for ${this.#o.quietTimeout} ms`,
        );
        this.#markDown(error);
        this.#diag('k8s:watchdog', { quietTimeout: this.#o.quietTimeout });
        return 'now';
      }
      if (outcome === 'resync') {
        this.#stats.resyncs++;
        this.#relistReason = 'resync';
        return 'now';
      }
      if (outcome === 'short') {
        throw new SwitchyardError(
          'BACKEND_UNAVAILABLE',
          `[${pkg}] very short watch of ${this.#o.client.what}`,
        );
      }
      throw outcome.error;
    }
  }

  /** One watch request, from the last seen version, until it ends. Throws when it cannot start. */
  async #watchOnce(): Promise<Outcome> {
    const { client, clock, quietTimeout, resyncInterval, requestTimeout, minWatchTimeout, random, sink } =
      this.#o;
    const stop = this.#stop.signal;
    const attempt = new AbortController();
    const onStop = () => attempt.abort(stop.reason);
    stop.addEventListener('abort', onStop, { once: true });
    const timeoutSeconds = Math.floor((minWatchTimeout / 1000) * (1 + random()));
    let outcome: Outcome | undefined;
    let events = 0;
    let quiet: ReturnType<Clock['setTimeout']> | undefined;
    let abortStream: () => void = () => attempt.abort();
    const conclude = (o: Outcome) => {
      outcome ??= o;
      abortStream();
    };
    const arm = () => {
      if (quietTimeout <= 0) return;
      clock.clearTimeout(quiet);
      quiet = clock.setTimeout(() => conclude('watchdog'), quietTimeout, { unref: true });
    };
    const onEvent = (ev: WatchEvent) => {
      if (outcome !== undefined) return;
      arm();
      const obj = ev.object as KubeItem;
      const rv = obj?.metadata?.resourceVersion;
      switch (ev.type) {
        case 'ADDED':
        case 'MODIFIED':
        case 'DELETED':
          events++;
          this.#stats.events++;
          try {
            sink.event(ev.type, obj);
          } catch (error) {
            this.#diag('k8s:error', { error, during: 'event' });
          }
          if (typeof rv === 'string' && rv !== '') this.#lastSyncRV = rv;
          return;
        case 'BOOKMARK':
          this.#stats.bookmarks++;
          if (typeof rv === 'string' && rv !== '') this.#lastSyncRV = rv;
          return;
        case 'ERROR': {
          const f = fromStatus(ev.object);
          conclude(
            isExpired(f)
              ? 'expired'
              : isTooLarge(f)
                ? 'too-large'
                : { error: Object.assign(new Error(f.message), { code: f.code, reason: f.reason }) },
          );
          return;
        }
        default:
          conclude({ error: new Error(`unexpected watch event type ${JSON.stringify(ev.type)}`) });
      }
    };
    const started = clock.monotonic();
    const resync =
      resyncInterval > 0
        ? clock.setTimeout(() => conclude('resync'), Math.max(0, this.#listedAt + resyncInterval - started), {
            unref: true,
          })
        : undefined;
    try {
      const conn = await client.watch({ resourceVersion: this.#lastSyncRV, timeoutSeconds }, onEvent, {
        signal: attempt.signal,
        timeout: requestTimeout,
      });
      abortStream = () => conn.abort();
      if (outcome !== undefined) conn.abort();
      this.#stats.watchesOpened++;
      if (this.#down) {
        this.#down = false;
        sink.up();
      }
      arm();
      const ended = await conn.ended;
      if (outcome !== undefined) return outcome;
      if (stop.aborted) return 'resume';
      if (events === 0 && clock.monotonic() - started < SHORT_WATCH_MS) return 'short';
      if (ended !== undefined) this.#diag('k8s:watch-dropped', { error: ended });
      return 'resume';
    } finally {
      clock.clearTimeout(quiet);
      clock.clearTimeout(resync);
      stop.removeEventListener('abort', onStop);
      attempt.abort();
    }
  }
}

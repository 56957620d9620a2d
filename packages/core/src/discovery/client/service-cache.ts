import type {
  DiscoveryEvent,
  InstanceDiff,
  InstanceFilter,
  ServiceInstance,
  WatchEventReason,
} from '../../contracts/discovery.js';
import { backendUnavailable, SwitchyardError } from '../../errors.js';
import { anySignal, deadlineSignal, raceSignal } from '../../primitives/abort.js';
import { jitter } from '../../primitives/backoff.js';
import type { TimerHandle } from '../../primitives/clock.js';
import type { Emitter } from '../../primitives/emitter.js';
import { SingleFlight } from '../../primitives/single-flight.js';
import { diffInstances, INSTANCE_HEALTH, isEmptyDiff, sortInstances } from '../instance.js';
import { runWatchLoop } from '../watch-loop.js';
import { CLIENT_PKG as PKG, type ResolvedClientOptions } from './options.js';
import { type CacheState, Subscriber, toSnapshot } from './subscriber.js';
import type { TrafficFilter } from './traffic-filter.js';
import type {
  ClientEventSource,
  ClientInstanceFilter,
  ClientSnapshot,
  DiscoveryClientEvents,
  ServiceStatus,
} from './types.js';
import { computeView } from './view.js';

/** The cache holds every instance whatever its health; filters run locally. */
export const ALL_HEALTH: InstanceFilter = Object.freeze({ health: INSTANCE_HEALTH });
const EMPTY_DIFF: InstanceDiff = Object.freeze({ added: [], removed: [], updated: [] });

export interface CacheHost {
  readonly options: ResolvedClientOptions;
  readonly events: Emitter<DiscoveryClientEvents>;
  trafficFilter(): TrafficFilter;
}

/**
 * The watch-driven cache of one service: one backend watch however many subscribers, restarted
 * with full-jitter backoff; stale-on-error; a silence watchdog; periodic anti-entropy relists.
 */
export class ServiceCache implements CacheState {
  readonly service: string;
  readonly #host: CacheHost;
  readonly #opts: ResolvedClientOptions;
  readonly #subscribers = new Set<Subscriber>();
  readonly #close = new AbortController();
  readonly #relist = new SingleFlight<'relist', InstanceDiff>();
  readonly #syncWaiters = new Set<(outcome: 'synced' | 'failed') => void>();
  #attempt: AbortController | undefined;
  #raw: readonly ServiceInstance[] = [];
  #visible: readonly ServiceInstance[] = [];
  #synced = false;
  #failing = false;
  #stale = false;
  #staleSince: number | undefined;
  #staleSinceMono = 0;
  #version = 0;
  #backendRevision = 0;
  #lastHeardAt: number | undefined;
  #lastHeardMono = 0;
  #lastError: unknown;
  #panic = false;
  /** Consecutive relists answered at a lower revision than the cache's, disagreeing with it. */
  #lowerReads = 0;
  #resyncTimer: TimerHandle | undefined;
  #watchdogTimer: TimerHandle | undefined;
  #closed = false;
  #counters = {
    watchesOpened: 0,
    resyncs: 0,
    resyncsWithChanges: 0,
    missedChanges: 0,
    resyncFailures: 0,
    revisionRegressions: 0,
  };

  constructor(service: string, host: CacheHost) {
    this.service = service;
    this.#host = host;
    this.#opts = host.options;
    void runWatchLoop({
      pkg: PKG,
      source: host.options.backend,
      service,
      filter: ALL_HEALTH,
      clock: host.options.clock,
      backoff: host.options.backoff,
      signal: this.#close.signal,
      onAttempt: (attempt) => {
        this.#attempt = attempt;
        this.#counters.watchesOpened++;
      },
      onEvent: (event, first) => this.#onWatchEvent(event, first),
      onError: (error) => this.#onWatchError(error),
    });
  }

  get version(): number {
    return this.#version;
  }
  get backendRevision(): number {
    return this.#backendRevision;
  }
  get stale(): boolean {
    return this.#stale;
  }
  get visible(): readonly ServiceInstance[] {
    return this.#visible;
  }
  get panicThreshold(): number {
    return this.#opts.panicThreshold;
  }
  get synced(): boolean {
    return this.#synced;
  }

  /** The snapshot for the default filter, memoised per version: the hot path of a cached resolve. */
  defaultSnapshot(): ClientSnapshot {
    const memo = this.#memo;
    if (
      memo?.revision === this.#version &&
      memo.stale === this.#stale &&
      memo.backendRevision === this.#backendRevision
    ) {
      return memo;
    }
    const view = computeView(this.#visible, undefined, this.#opts.panicThreshold);
    Object.freeze(view.instances);
    this.#memo = Object.freeze(toSnapshot(this, view));
    return this.#memo;
  }
  #memo: ClientSnapshot | undefined;

  status(): ServiceStatus {
    return {
      service: this.service,
      state: !this.#synced ? 'syncing' : this.#stale ? 'stale' : 'synced',
      version: this.#version,
      backendRevision: this.#backendRevision,
      lastHeardAt: this.#lastHeardAt,
      staleSince: this.#staleSince,
      lastError: this.#lastError,
      instances: this.#raw.length,
      subscribers: this.#subscribers.size,
      panic: this.#panic,
      ...this.#counters,
    };
  }

  /** Waits for the first snapshot: 'synced', or 'failed' once a watch attempt has failed. */
  waitForSync(signal: AbortSignal | undefined): Promise<'synced' | 'failed'> {
    if (this.#synced) return Promise.resolve('synced');
    if (this.#failing || this.#closed) return Promise.resolve('failed');
    let done: (outcome: 'synced' | 'failed') => void = () => {};
    const outcome = new Promise<'synced' | 'failed'>((resolve) => {
      done = resolve;
    });
    this.#syncWaiters.add(done);
    return raceSignal(outcome, signal, PKG, `first sync of ${this.service}`).finally(() =>
      this.#syncWaiters.delete(done),
    );
  }

  /** Adds a `watch()` caller; it gets the initial event as soon as the cache is synced. */
  subscribe(filter: ClientInstanceFilter | undefined, signal: AbortSignal | undefined): Subscriber {
    const stop = () => this.#end(sub);
    const sub: Subscriber = new Subscriber(
      filter,
      () => this.#end(sub),
      () => signal?.removeEventListener('abort', stop),
    );
    this.#subscribers.add(sub);
    if (signal?.aborted) stop();
    else signal?.addEventListener('abort', stop, { once: true });
    if (this.#synced) this.#deliver(sub, 'watch', 'initial');
    return sub;
  }

  /** Ends one subscriber (loop ended, its signal fired, or the client closed); the error fails its stream. */
  #end(sub: Subscriber, error?: unknown): void {
    this.#subscribers.delete(sub);
    sub.detach();
    if (error === undefined) sub.channel.close();
    else sub.channel.fail(error);
  }

  /** Re-applies the traffic rules; subscribers whose view changed get a `rules` event. */
  rulesChanged(): void {
    if (!this.#synced) return;
    const next = this.#host.trafficFilter().apply(this.#raw);
    if (isEmptyDiff(diffInstances(this.#visible, next))) return;
    this.#visible = next;
    this.#version++;
    this.#updatePanic();
    this.#publish('rules', 'change');
  }

  /** Anti-entropy relist: one `backend.resolve`, diffed against the cache; the diff is what the watch missed. */
  resync(signal?: AbortSignal): Promise<InstanceDiff> {
    return this.#relist.do('relist', () => this.#doResync(signal, false));
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#close.abort(new SwitchyardError('CLOSED', `[${PKG}] client is closed`));
    this.#opts.clock.clearTimeout(this.#resyncTimer);
    this.#opts.clock.clearTimeout(this.#watchdogTimer);
    for (const sub of [...this.#subscribers]) this.#end(sub);
    for (const done of this.#syncWaiters) done('failed');
    this.#syncWaiters.clear();
  }

  #onWatchEvent(event: DiscoveryEvent, first: boolean): void {
    this.#markHeard();
    const revision = event.snapshot.revision;
    const instances = sortInstances([...event.snapshot.instances]);
    if (!this.#synced) {
      this.#synced = true;
      this.#failing = false;
      this.#apply(instances, revision);
      this.#scheduleResync();
      this.#scheduleWatchdog();
      for (const done of this.#syncWaiters) done('synced');
      this.#syncWaiters.clear();
      this.#publish('watch', 'initial');
      return;
    }
    if (first) {
      // A watch re-opened after a failure: its first snapshot is a relist.
      const diff = this.#apply(instances, revision);
      this.#countResync(diff, this.#stale);
      this.#recover(diff);
      this.#publish('resync', 'resync');
      return;
    }
    if (event.stale) {
      // The backend reports its own outage in-band (the kit's feeds do): serve stale now.
      this.#lastError = new SwitchyardError(
        'BACKEND_UNAVAILABLE',
        `[${PKG}] the backend reports its watch of ${this.service} as stale`,
      );
      this.#markStale(this.#lastError);
      return;
    }
    if (this.#stale) {
      const diff = this.#apply(instances, revision);
      this.#countResync(diff, true);
      this.#recover(diff);
      this.#publish('resync', 'resync');
      return;
    }
    if (revision < this.#backendRevision) {
      // Revisions are not trustworthy any more: relist and take the backend's word for it.
      this.#counters.revisionRegressions++;
      void this.#relist.do('relist', () => this.#doResync(undefined, true)).catch(() => {});
    }
    const diff = this.#apply(instances, revision);
    if (event.reason === 'resync') this.#countResync(diff, false);
    this.#publish(
      event.reason === 'resync' ? 'resync' : 'watch',
      event.reason === 'resync' ? 'resync' : 'change',
    );
  }

  #onWatchError(error: unknown): void {
    this.#lastError = error;
    this.#host.events.emit('discovery:error', { service: this.service, during: 'watch', error });
    if (!this.#synced) {
      this.#failing = true;
      for (const done of this.#syncWaiters) done('failed');
      this.#syncWaiters.clear();
      return;
    }
    this.#markStale(error);
  }

  /** Replaces the cached instances; returns the raw diff. */
  #apply(instances: readonly ServiceInstance[], revision: number): InstanceDiff {
    const diff = diffInstances(this.#raw, instances);
    this.#raw = instances;
    this.#backendRevision = revision;
    if (!isEmptyDiff(diff) || this.#version === 0) {
      this.#visible = this.#host.trafficFilter().apply(instances);
      this.#version++;
      this.#updatePanic();
    }
    return diff;
  }

  #publish(source: ClientEventSource, reason: WatchEventReason): void {
    for (const sub of this.#subscribers) this.#deliver(sub, source, reason);
  }

  /** A throwing `filter.where` ends that subscriber's stream with the error, not the cache's watch. */
  #deliver(sub: Subscriber, source: ClientEventSource, reason: WatchEventReason): void {
    try {
      sub.deliver(this, source, reason);
    } catch (error) {
      this.#end(sub, error);
    }
  }

  #countResync(diff: InstanceDiff, afterOutage: boolean): void {
    this.#counters.resyncs++;
    if (isEmptyDiff(diff)) return;
    this.#counters.resyncsWithChanges++;
    this.#counters.missedChanges += diff.added.length + diff.removed.length + diff.updated.length;
    this.#host.events.emit('discovery:resync', { service: this.service, diff, afterOutage });
  }

  #markHeard(): void {
    this.#lastHeardAt = this.#opts.clock.now();
    this.#lastHeardMono = this.#opts.clock.monotonic();
  }

  #markStale(cause: unknown): void {
    if (this.#stale) return;
    this.#stale = true;
    this.#staleSince = this.#opts.clock.now();
    this.#staleSinceMono = this.#opts.clock.monotonic();
    this.#host.events.emit('discovery:stale', {
      service: this.service,
      cause,
      lastHeardAt: this.#lastHeardAt,
    });
    this.#publish('status', 'change');
  }

  #recover(diff: InstanceDiff): void {
    if (!this.#stale) return;
    this.#stale = false;
    this.#staleSince = undefined;
    const staleFor = this.#opts.clock.monotonic() - this.#staleSinceMono;
    this.#host.events.emit('discovery:recovered', { service: this.service, staleFor, diff });
  }

  #updatePanic(): void {
    const view = computeView(this.#visible, undefined, this.#opts.panicThreshold);
    if (view.panic === this.#panic) return;
    this.#panic = view.panic;
    this.#host.events.emit('discovery:panic', {
      service: this.service,
      active: view.panic,
      healthy: view.healthy,
      total: view.total,
    });
  }

  async #doResync(signal: AbortSignal | undefined, force: boolean): Promise<InstanceDiff> {
    if (!this.#synced || this.#closed) return EMPTY_DIFF;
    const { backend, clock, requestTimeout } = this.#opts;
    const deadline = deadlineSignal(requestTimeout, {
      parent: anySignal(signal, this.#close.signal),
      clock,
      what: `relist of ${this.service}`,
    });
    let snapshot: Awaited<ReturnType<typeof backend.resolve>>;
    try {
      snapshot = await raceSignal(
        backend.resolve(this.service, { filter: ALL_HEALTH, signal: deadline.signal }),
        deadline.signal,
        PKG,
        `relist of ${this.service}`,
      );
    } catch (error) {
      if (this.#closed) return EMPTY_DIFF;
      this.#counters.resyncFailures++;
      this.#lastError = error;
      this.#host.events.emit('discovery:error', { service: this.service, during: 'resync', error });
      throw signal?.aborted ? error : backendUnavailable(PKG, `relist of ${this.service}`, error);
    } finally {
      deadline.dispose();
    }
    if (this.#closed) return EMPTY_DIFF;
    this.#markHeard();
    if (snapshot.revision < this.#backendRevision && !force) {
      const differs = !isEmptyDiff(diffInstances(this.#raw, sortInstances([...snapshot.instances])));
      // Usually the watch is already past this read: nothing it could have missed. But a backend
      // whose revisions went backwards (data loss, a restore) answers lower revisions for good: two
      // lower reads in a row that disagree with the cache are taken as the backend's truth.
      if (!differs || ++this.#lowerReads < 2) {
        if (!differs) this.#lowerReads = 0;
        this.#counters.resyncs++;
        return EMPTY_DIFF;
      }
      this.#counters.revisionRegressions++;
    }
    this.#lowerReads = 0;
    const diff = this.#apply(sortInstances([...snapshot.instances]), snapshot.revision);
    this.#countResync(diff, false);
    this.#publish('resync', 'resync');
    return diff;
  }

  #scheduleResync(): void {
    const { resyncInterval, clock } = this.#opts;
    if (resyncInterval === 0 || this.#closed) return;
    this.#resyncTimer = clock.setTimeout(
      () => {
        this.resync()
          .catch(() => {})
          .finally(() => this.#scheduleResync());
      },
      jitter(resyncInterval),
      { unref: true },
    );
  }

  #scheduleWatchdog(): void {
    const { staleAfter, clock } = this.#opts;
    if (staleAfter === 0 || this.#closed) return;
    const silentFor = clock.monotonic() - this.#lastHeardMono;
    if (silentFor >= staleAfter && !this.#stale) {
      const cause = new SwitchyardError(
        'BACKEND_UNAVAILABLE',
        `[${PKG}] no word from the backend about ${this.service} for ${Math.round(silentFor)} ms`,
      );
      this.#lastError = cause;
      this.#markStale(cause);
      // A silent watch may be a dead one: restart it; its first snapshot is a relist.
      this.#attempt?.abort(cause);
    }
    const wait = this.#stale ? staleAfter : Math.max(1, staleAfter - silentFor);
    this.#watchdogTimer = clock.setTimeout(() => this.#scheduleWatchdog(), wait, { unref: true });
  }
}

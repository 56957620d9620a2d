import type { KubeConfig } from '@kubernetes/client-node';
import {
  AsyncChannel,
  type Backoff,
  type Clock,
  publishDiagnostic,
  SwitchyardError,
  type TimerHandle,
} from '@switchyard/core';
import {
  type ServiceListing,
  type WatchBatch,
  type WatchPosition,
  watchResetError,
} from '@switchyard/core/driver';
import { resourceClient } from './kube-api.js';
import { PKG } from './options.js';
import { type KubeItem, Reflector, type ReflectorSink, type ReflectorStats } from './reflector.js';
import { ScopeCache, type ServiceFilter } from './scope-cache.js';
import type { MappingOptions } from './slice-mapping.js';

export interface ScopeSettings {
  pkg: string;
  kubeConfig: KubeConfig;
  clock: Clock;
  backoff: Backoff;
  pageSize: number;
  quietTimeout: number;
  resyncInterval: number;
  requestTimeout: number;
  watchTimeout: number;
  idleTimeout: number;
  labelSelector: string | undefined;
  fieldSelector: string | undefined;
  serviceFilter: ServiceFilter | undefined;
  mapping: MappingOptions;
  nameOf: (namespace: string, name: string) => string;
  /** Revisions handed to the kit: one counter for the whole client, so they never go back. */
  sequence: { value: number };
}

interface Subscription {
  readonly key: string;
  readonly channel: AsyncChannel<WatchBatch>;
  readonly from: number;
  /** Subscribed while the cache was not fresh: resumes (and clears the kit's stale mark) when it is. */
  waiting: boolean;
  detach(): void;
}

/** How long a scope outlives subscriptions it ended itself, waiting for the kit to renew them, ms. */
const RESUBSCRIBE_GRACE_MS = 10_000;

/** What `cacheStats()` reports per shared watch. */
export interface ScopeStats {
  /** The namespace, or `*` for all namespaces. */
  readonly scope: string;
  readonly synced: boolean;
  /** True while the API is unreachable or the stream is silent (watchers see `stale`). */
  readonly stale: boolean;
  readonly services: number;
  readonly slices: number;
  /** Slices a relist found different from the cache (changes the watch did not deliver). */
  readonly missedChanges: number;
  readonly endpointSlices: ReflectorStats;
  readonly serviceObjects: ReflectorStats | undefined;
}

/**
 * One shared list+watch for a scope (a namespace, or all namespaces) feeding every service's
 * subscriptions: a change of a slice goes to the subscribers of its Service, a relist resets only
 * the services it changed (the kit relists them from this cache and emits the exact diff), an
 * outage fails the live subscriptions once (the kit marks them stale) and resumes them when the
 * watch is back. It runs while anyone subscribes, and `idleTimeout` after the last read.
 */
export class ScopeWatch {
  readonly scope: string | undefined;
  readonly #s: ScopeSettings;
  readonly #cache: ScopeCache;
  readonly #slices: Reflector;
  readonly #services: Reflector | undefined;
  readonly #subs = new Map<string, Set<Subscription>>();
  readonly #changedAt = new Map<string, number>();
  readonly #down = new Set<Reflector>();
  /**
   * Services whose subscriptions the outage failed once. The kit treats one failure after a
   * delivering watch as a blip and renews at once; the renewal fails too while the API is down,
   * so the kit marks its watchers stale. Later renewals wait quietly for the cache to be fresh.
   */
  readonly #failedOnce = new Set<string>();
  #outage: SwitchyardError | undefined;
  readonly #onStopped: () => void;
  #count = 0;
  #missed = 0;
  #idle: TimerHandle | undefined;
  #stopping: Promise<void> | undefined;
  #closed = false;

  constructor(scope: string | undefined, settings: ScopeSettings, onStopped: () => void) {
    this.scope = scope;
    this.#s = settings;
    this.#onStopped = onStopped;
    this.#cache = new ScopeCache(settings.mapping, settings.nameOf, settings.serviceFilter);
    const make = (kind: 'endpointslices' | 'services', sink: (r: () => Reflector) => ReflectorSink) => {
      let self: Reflector | undefined;
      const reflector = new Reflector({
        pkg: settings.pkg,
        client: resourceClient(kind, scope, {
          kubeConfig: settings.kubeConfig,
          clock: settings.clock,
          labelSelector:
            kind === 'endpointslices' ? settings.labelSelector : settings.serviceFilter?.labelSelector,
          fieldSelector: kind === 'endpointslices' ? settings.fieldSelector : undefined,
        }),
        sink: sink(() => self!),
        clock: settings.clock,
        backoff: settings.backoff,
        pageSize: settings.pageSize,
        quietTimeout: settings.quietTimeout,
        resyncInterval: settings.resyncInterval,
        requestTimeout: settings.requestTimeout,
        minWatchTimeout: settings.watchTimeout,
        random: Math.random,
      });
      self = reflector;
      return reflector;
    };
    this.#slices = make('endpointslices', (self) =>
      this.#sink(
        self,
        (items) => this.#cache.replaceSlices(items),
        (t, o) => this.#cache.applySlice(t, o),
      ),
    );
    this.#services = settings.serviceFilter
      ? make('services', (self) =>
          this.#sink(
            self,
            (items) => ({ changed: this.#cache.replaceServices(items), differing: 0 }),
            (t, o) => this.#cache.applyService(t, o),
          ),
        )
      : undefined;
    this.#slices.start();
    this.#services?.start();
  }

  get stopped(): boolean {
    return this.#closed;
  }

  get #synced(): boolean {
    return this.#slices.synced && (this.#services?.synced ?? true);
  }

  get #fresh(): boolean {
    return this.#synced && this.#down.size === 0;
  }

  get stats(): ScopeStats {
    return {
      scope: this.scope ?? '*',
      synced: this.#synced,
      stale: this.#down.size > 0,
      services: this.#cache.serviceKeys().length,
      slices: this.#cache.sliceCount,
      missedChanges: this.#missed,
      endpointSlices: this.#slices.stats,
      serviceObjects: this.#services?.stats,
    };
  }

  #sink(
    self: () => Reflector,
    replace: (items: readonly KubeItem[]) => { changed: Set<string>; differing: number },
    apply: (type: 'ADDED' | 'MODIFIED' | 'DELETED', o: KubeItem) => Set<string>,
  ): ReflectorSink {
    return {
      replace: (items, initial) => {
        const { changed, differing } = replace(items);
        const rev = ++this.#s.sequence.value;
        for (const key of changed) this.#changedAt.set(key, rev);
        if (!initial && differing > 0) {
          this.#missed += differing;
          publishDiagnostic(
            'k8s:missed',
            {
              scope: this.scope ?? '*',
              slices: differing,
              services: changed.size,
            },
            PKG,
          );
        }
        if (!initial) {
          // The kit relists these services from the cache and reports the diff as a resync.
          for (const key of changed) {
            for (const sub of [...(this.#subs.get(key) ?? [])]) {
              if (sub.waiting) continue;
              this.#remove(sub, RESUBSCRIBE_GRACE_MS);
              sub.channel.fail(watchResetError(this.#s.pkg, `${this.scope ?? 'cluster'} relisted`));
            }
          }
        }
        this.#down.delete(self());
        this.#resumeWaiting();
      },
      event: (type, object) => {
        const changed = apply(type, object);
        if (changed.size === 0) return;
        const rev = ++this.#s.sequence.value;
        for (const key of changed) {
          this.#changedAt.set(key, rev);
          const subs = this.#subs.get(key);
          if (!subs) continue;
          const batch: WatchBatch = { instances: this.#cache.instances(key), revision: rev };
          for (const sub of subs) if (!sub.waiting) sub.channel.push(batch);
        }
      },
      down: (error) => {
        const first = this.#down.size === 0;
        this.#down.add(self());
        if (!first) return;
        publishDiagnostic('k8s:stale', { scope: this.scope ?? '*', error }, PKG);
        const cause = new SwitchyardError(
          'BACKEND_UNAVAILABLE',
          `[${this.#s.pkg}] watch of ${this.scope ?? 'all namespaces'} interrupted`,
          { cause: error },
        );
        this.#outage = cause;
        for (const subs of this.#subs.values()) {
          for (const sub of [...subs]) {
            if (sub.waiting) continue;
            this.#failedOnce.add(sub.key);
            this.#remove(sub, RESUBSCRIBE_GRACE_MS);
            sub.channel.fail(cause);
          }
        }
      },
      up: () => {
        this.#down.delete(self());
        this.#resumeWaiting();
      },
    };
  }

  #resumeWaiting(): void {
    if (!this.#fresh) return;
    this.#failedOnce.clear();
    this.#outage = undefined;
    for (const subs of this.#subs.values()) for (const sub of subs) if (sub.waiting) this.#catchUp(sub);
  }

  /** Sends a new subscriber what changed since its position, or a progress mark if it was waiting. */
  #catchUp(sub: Subscription): void {
    const wasWaiting = sub.waiting;
    sub.waiting = false;
    const rev = this.#s.sequence.value;
    if ((this.#changedAt.get(sub.key) ?? 0) > sub.from) {
      sub.channel.push({ instances: this.#cache.instances(sub.key), revision: rev });
    } else if (wasWaiting) sub.channel.push({ revision: rev });
  }

  /** Waits for the first sync (every reflector of the scope). */
  async ready(signal: AbortSignal): Promise<void> {
    await this.#slices.whenSynced(signal);
    await this.#services?.whenSynced(signal);
  }

  /** A service's instances from the cache; keeps the scope alive for `idleTimeout` when nobody watches. */
  listing(key: string): ServiceListing {
    this.#touch();
    return { instances: this.#cache.instances(key), revision: this.#s.sequence.value };
  }

  serviceKeys(): string[] {
    this.#touch();
    return this.#cache.serviceKeys();
  }

  subscribe(key: string, from: WatchPosition, signal: AbortSignal): AsyncIterable<WatchBatch> {
    const sub: Subscription = {
      key,
      from: from.revision,
      waiting: true,
      channel: new AsyncChannel<WatchBatch>({ onReturn: () => this.#remove(sub) }),
      detach: () => {},
    };
    const onAbort = () => {
      this.#remove(sub);
      sub.channel.close();
    };
    if (signal.aborted) {
      sub.channel.close();
      return sub.channel;
    }
    if (this.#outage && !this.#fresh && this.#failedOnce.delete(key)) {
      // The kit's renewal right after the outage failed its watch: still down (see #failedOnce).
      sub.channel.fail(this.#outage);
      this.#touch(RESUBSCRIBE_GRACE_MS);
      return sub.channel;
    }
    signal.addEventListener('abort', onAbort, { once: true });
    sub.detach = () => signal.removeEventListener('abort', onAbort);
    let set = this.#subs.get(key);
    if (!set) {
      set = new Set();
      this.#subs.set(key, set);
    }
    set.add(sub);
    this.#count++;
    this.#s.clock.clearTimeout(this.#idle);
    this.#idle = undefined;
    if (this.#fresh) this.#catchUp(sub);
    return sub.channel;
  }

  /** `grace`: a subscription we ended ourselves (reset, outage) is renewed by the kit; keep running meanwhile. */
  #remove(sub: Subscription, grace = 0): void {
    const set = this.#subs.get(sub.key);
    if (!set?.delete(sub)) return;
    sub.detach();
    if (set.size === 0) this.#subs.delete(sub.key);
    this.#count--;
    this.#touch(grace);
  }

  #touch(grace = 0): void {
    if (this.#count > 0 || this.stopped) return;
    this.#s.clock.clearTimeout(this.#idle);
    const ms = Math.max(this.#s.idleTimeout, grace);
    this.#idle = this.#s.clock.setTimeout(() => void this.stop(), ms, { unref: true });
  }

  /** Stops both reflectors and ends every subscription. */
  stop(): Promise<void> {
    this.#closed = true;
    this.#stopping ??= (async () => {
      this.#s.clock.clearTimeout(this.#idle);
      this.#onStopped();
      for (const subs of [...this.#subs.values()]) {
        for (const sub of [...subs]) {
          this.#remove(sub);
          sub.channel.close();
        }
      }
      await Promise.all([this.#slices.stop(), this.#services?.stop()]);
    })();
    return this.#stopping;
  }
}

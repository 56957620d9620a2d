import {
  closedError,
  Emitter,
  invalidArgument,
  type ServiceInstance,
  SwitchyardError,
  systemClock,
  throwIfAborted,
} from '@switchyard/core';
import { opt, parseOptions } from '@switchyard/core/driver';
import { LinkCache } from './link-cache.js';
import { PodView } from './pod-view.js';
import { namespaceArg, podArg, serviceArg, uidArg, uidsArg } from './route-arguments.js';
import type {
  BatchLinks,
  PodDirectory,
  RouteClientEvents,
  RouteClientOptions,
  RouteClientStats,
} from './route-client-types.js';
import { judgeLink, type PickStrategy, PKG, type PodRecord } from './route-model.js';
import type { JudgedLink, RouteStore } from './route-store.js';

type Sig = { signal?: AbortSignal };

/**
 * The caller side (gateways, callers): finds a user's pod, from the local cache when the cached
 * pod is still routable in the local pod view, otherwise with one store round trip that returns the
 * valid link or places the user on the best pod atomically.
 */
export class RouteClient {
  readonly store: RouteStore;
  readonly #events = new Emitter<RouteClientEvents>({ source: PKG, diagnostics: true });
  readonly #cache: LinkCache;
  readonly #view: PodView;
  readonly #strategy: PickStrategy;
  readonly #budget: number;
  readonly #budgetInterval: number;
  readonly #suspectAfter: number;
  readonly #rebalance: number;
  readonly #stats: RouteClientStats = { hits: 0, misses: 0, created: 0, moved: 0, staleCorrections: 0 };
  readonly #discovery: PodDirectory | undefined;
  #closed = false;

  constructor(options: RouteClientOptions) {
    const o = parseOptions(PKG, options, {
      store: opt
        .instance<RouteStore>((v) => typeof (v as RouteStore)?.claim === 'function', 'a RouteStore')
        .required(),
      cacheSize: opt.integer(0, 100_000_000).default(100_000),
      cacheTtl: opt.duration({ min: 1 }).default(60_000),
      stateRefreshInterval: opt.duration({ min: 10 }).default(1_000),
      strategy: opt.oneOf(['least-loaded', 'p2c'] as const).default('least-loaded'),
      moveBudget: opt.object({
        perInterval: opt.integer(0).default(100),
        interval: opt.duration({ min: 1 }).default(1_000),
      }),
      suspectAfter: opt.duration({ allowZero: true }).default(0),
      rebalance: opt.number(1, 1_000),
      discovery: opt.instance<PodDirectory>(
        (v) => typeof (v as PodDirectory)?.resolve === 'function',
        'a discovery backend or client (resolve)',
      ),
      clock: opt.clock().default(systemClock),
    });
    this.store = o.store;
    this.#discovery = o.discovery;
    this.#strategy = o.strategy;
    this.#budget = o.moveBudget?.perInterval ?? 100;
    this.#budgetInterval = o.moveBudget?.interval ?? 1_000;
    this.#suspectAfter = o.suspectAfter;
    this.#rebalance = o.rebalance ?? 0;
    this.#cache = new LinkCache(o.cacheSize, o.cacheTtl, o.clock);
    this.#view = new PodView(
      o.store,
      o.clock,
      o.stateRefreshInterval,
      (error) => this.#events.emit('state:error', { error }),
      (namespace, service, uid) => this.#cache.delete(LinkCache.key(namespace, uid, service)),
    );
  }

  on<K extends keyof RouteClientEvents>(event: K, fn: (e: RouteClientEvents[K]) => void): () => void {
    return this.#events.on(event, fn);
  }

  stats(): Readonly<RouteClientStats> {
    return { ...this.#stats };
  }

  /** The local view of a service's pods (listed on first use). */
  async pods(service: string, opts: Sig = {}): Promise<PodRecord[]> {
    await this.#ensureView(serviceArg(service), opts.signal);
    return this.#view.pods(service);
  }

  /** The user's routable pod, creating the link on the best pod if there is none (atomic). */
  computeLinkedPod(namespace: string, uid: string, service: string, opts?: Sig): Promise<string> {
    let cached: string | undefined;
    try {
      cached = this.getLinkedInCache(namespace, uid, service);
    } catch (error) {
      return Promise.reject(error);
    }
    if (cached !== undefined) return Promise.resolve(cached);
    return this.#claim(namespace, uid, service, opts?.signal);
  }

  /**
   * `computeLinkedPod`, then the pod's discovery instance (address, port, metadata) from the
   * `discovery` option. A linked pod missing from discovery rejects with `NO_AVAILABLE_INSTANCE`.
   */
  async computeLinkedInstance(
    namespace: string,
    uid: string,
    service: string,
    opts: Sig = {},
  ): Promise<ServiceInstance> {
    if (!this.#discovery) throw invalidArgument(PKG, 'discovery', 'is required for computeLinkedInstance');
    const pod = await this.computeLinkedPod(namespace, uid, service, opts);
    const { instances } = await this.#discovery.resolve(service, { signal: opts.signal });
    const instance = instances.find((i) => i.id === pod);
    if (!instance) {
      throw new SwitchyardError(
        'NO_AVAILABLE_INSTANCE',
        `[${PKG}] pod "${pod}" of "${service}" is not in discovery`,
      );
    }
    return instance;
  }

  /** The user's routable pod (cache, then store), or `undefined`; never creates a link. */
  async getLinkedPod(namespace: string, uid: string, service: string, opts: Sig = {}) {
    return (
      this.getLinkedInCache(namespace, uid, service) ??
      this.#read(namespace, uid, service, false, opts.signal)
    );
  }

  /** Like `getLinkedPod`, but also returns a link released with `persistSeconds` still in its window. */
  async getLinkedPodInCacheOrIfPersist(namespace: string, uid: string, service: string, opts: Sig = {}) {
    return (
      this.getLinkedInCache(namespace, uid, service) ?? this.#read(namespace, uid, service, true, opts.signal)
    );
  }

  /** The stored link, bypassing (and then refreshing) the local cache. */
  async getLinkedPodNotCache(namespace: string, uid: string, service: string, opts: Sig = {}) {
    return this.#read(namespace, uid, service, false, opts.signal);
  }

  /** The cached pod if its pod is routable in the local view (synchronous, no I/O). */
  getLinkedInCache(namespace: string, uid: string, service: string): string | undefined {
    if (this.#closed) throw closedError(PKG, 'route client');
    const key = LinkCache.key(namespaceArg(namespace), uidArg(uid), serviceArg(service));
    const entry = this.#cache.get(key);
    if (entry === undefined) {
      this.#stats.misses++;
      return undefined;
    }
    const pod = this.#view.pod(service, entry.pod);
    if (judgeLink(entry, pod, this.#view.storeNow(service)) !== 'ok') {
      this.#cache.delete(key);
      this.#stats.staleCorrections++;
      this.#stats.misses++;
      return undefined;
    }
    this.#stats.hits++;
    return entry.pod;
  }

  /** Drops the cached link (the next lookup goes to the store). */
  cacheExpired(namespace: string, uid: string, service: string): void {
    this.#cache.delete(LinkCache.key(namespaceArg(namespace), uidArg(uid), serviceArg(service)));
  }

  /** Caches a link the caller learned elsewhere; the pod must be in the local view. */
  async setCache(
    namespace: string,
    uid: string,
    service: string,
    pod: string,
    opts: Sig = {},
  ): Promise<void> {
    const key = LinkCache.key(namespaceArg(namespace), uidArg(uid), serviceArg(service));
    await this.#ensureView(service, opts.signal);
    const rec = this.#view.pod(service, podArg(pod));
    if (!rec) throw invalidArgument(PKG, 'pod', `"${pod}" is not a pod of service "${service}"`);
    this.#cache.set(key, pod, rec.epoch);
  }

  /** service → pod for every service the user has a valid link to (one call per service, in parallel). */
  async getLinkService(namespace: string, uid: string, opts: Sig = {}): Promise<Record<string, string>> {
    const out: Record<string, string> = {};
    for (const [s, l] of Object.entries(await this.describeUser(namespace, uid, opts))) {
      if (l.valid && l.till === 0) out[s] = l.pod;
    }
    return out;
  }

  /** Admin view of one user: every service's stored link (valid or not), from the store. */
  async describeUser(namespace: string, uid: string, opts: Sig = {}): Promise<Record<string, JudgedLink>> {
    namespaceArg(namespace);
    uidArg(uid);
    const services = await this.store.services(opts.signal);
    const links = await Promise.all(
      services.map((s) => this.store.getLinks(namespace, s, [uid], opts.signal)),
    );
    const out: Record<string, JudgedLink> = {};
    services.forEach((s, i) => {
      const l = links[i]![0];
      if (l) out[s] = l;
    });
    return out;
  }

  /** Admin view of one pod from a fresh listing (lease, state, load, active links), or `undefined`. */
  async describePod(service: string, pod: string, opts: Sig = {}): Promise<PodRecord | undefined> {
    const { pods } = await this.store.listPods(serviceArg(service), opts.signal);
    return pods.find((p) => p.pod === podArg(pod));
  }

  /** The valid links of many users of one service, grouped by pod: one store round trip. */
  async batchGetLinkedPod(namespace: string, uids: readonly string[], service: string, opts: Sig = {}) {
    namespaceArg(namespace);
    serviceArg(service);
    const list = uidsArg(uids);
    const links = await this.store.getLinks(namespace, service, list, opts.signal);
    const byPod = new Map<string, string[]>();
    const unlinked: string[] = [];
    list.forEach((uid, i) => {
      const l = links[i];
      if (!l?.valid || l.till !== 0) return void unlinked.push(uid);
      const arr = byPod.get(l.pod);
      if (arr) arr.push(uid);
      else byPod.set(l.pod, [uid]);
    });
    return { byPod, unlinked } satisfies BatchLinks;
  }

  /** Links the user to `pod` unless it already has a valid link; returns the user's pod. */
  async setLinkedPodIfAbsent(namespace: string, uid: string, service: string, pod: string, opts: Sig = {}) {
    const key = LinkCache.key(namespaceArg(namespace), uidArg(uid), serviceArg(service));
    podArg(pod);
    if (this.#discovery) {
      const { instances } = await this.#discovery.resolve(service, { signal: opts.signal });
      if (!instances.some((i) => i.id === pod)) {
        throw invalidArgument(PKG, 'pod', `"${pod}" is not an instance of "${service}" in discovery`);
      }
    }
    const r = await this.store.setLink(namespace, service, uid, pod, 'absent', '', opts.signal);
    this.#cache.set(key, r.pod, r.epoch);
    return r.pod;
  }

  /**
   * A caller could not reach `pod`: checks its lease at once. When its last heartbeat is older than
   * `max(suspectAfter, TTL / 2)` it is declared dead now (its users move at their next request) instead of at
   * its TTL. Returns true when the pod is dead.
   */
  async reportUnreachable(service: string, pod: string, opts: Sig = {}): Promise<boolean> {
    const dead = await this.store.suspectPod(
      serviceArg(service),
      podArg(pod),
      this.#suspectAfter,
      opts.signal,
    );
    if (dead) await this.#view.refresh(service);
    return dead;
  }

  async #ensureView(service: string, signal?: AbortSignal): Promise<void> {
    if (this.#closed) throw closedError(PKG, 'route client');
    if (!this.#view.loaded(service)) {
      throwIfAborted(PKG, signal);
      await this.#view.refresh(service);
    }
  }

  async #claim(namespace: string, uid: string, service: string, signal?: AbortSignal): Promise<string> {
    if (!this.#view.loaded(service)) await this.#ensureView(service, signal);
    const r = await this.store.claim(
      namespace,
      service,
      uid,
      {
        strategy: this.#strategy,
        r1: Math.random(),
        r2: Math.random(),
        moveBudget: this.#budget,
        moveInterval: this.#budgetInterval,
        rebalance: this.#rebalance,
      },
      signal,
    );
    if (!r) {
      throw new SwitchyardError('NO_AVAILABLE_INSTANCE', `[${PKG}] no pod of "${service}" accepts new users`);
    }
    this.#remember(namespace, uid, service, r.pod, r.epoch);
    if (r.outcome === 'created') {
      this.#stats.created++;
      this.#events.emit('link:created', { namespace, service, uid, pod: r.pod });
    } else if (r.outcome === 'moved') {
      this.#stats.moved++;
      this.#events.emit('link:moved', {
        namespace,
        service,
        uid,
        pod: r.pod,
        from: r.from!,
        reason: r.reason!,
      });
    }
    return r.pod;
  }

  async #read(namespace: string, uid: string, service: string, persisted: boolean, signal?: AbortSignal) {
    const key = LinkCache.key(namespaceArg(namespace), uidArg(uid), serviceArg(service));
    await this.#ensureView(service, signal);
    const [l] = await this.store.getLinks(namespace, service, [uid], signal);
    if (!l?.valid || (l.till !== 0 && !persisted)) return undefined;
    if (l.till === 0) this.#remember(namespace, uid, service, l.pod, l.epoch, key);
    return l.pod;
  }

  #remember(namespace: string, uid: string, service: string, pod: string, epoch: number, key?: string) {
    const known = this.#view.pod(service, pod);
    // A pod (or incarnation) newer than the local view: relist so the next lookup can hit.
    if (known?.epoch !== epoch) this.#view.refresh(service).catch(() => {});
    this.#cache.set(key ?? LinkCache.key(namespace, uid, service), pod, epoch);
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#view.close();
    this.#cache.clear();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/** The caller-side driver: `computeLinkedPod` and friends over a route store. */
export function createRouteClient(options: RouteClientOptions): RouteClient {
  return new RouteClient(options);
}

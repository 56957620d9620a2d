import {
  type Clock,
  closedError,
  Emitter,
  SwitchyardError,
  systemClock,
  type TimerHandle,
} from '@switchyard/core';
import { opt, parseOptions } from '@switchyard/core/driver';
import {
  loadArg,
  namespaceArg,
  persistSecondsArg,
  podArg,
  serviceArg,
  stateArg,
  uidArg,
  uidsArg,
} from './route-arguments.js';
import { PKG, type RoutingState } from './route-model.js';
import type { PodPublication, RouteStore } from './route-store.js';

export interface RouteServerOptions {
  store: RouteStore;
  /** The service this pod serves and its id (the discovery instance id, so callers can resolve it). */
  service: string;
  pod: string;
  /** Heartbeat period, ms (default 2 000). */
  heartbeat?: number;
  /** Lease TTL, ms (default 3 × heartbeat): the pod is unroutable once it has not renewed for this long. */
  ttl?: number;
  /** Initial load score 0–100 (default 0) and relative capacity (default 1). */
  load?: number;
  capacity?: number;
  /** Initial routing state (default NORMAL). */
  state?: RoutingState;
  clock?: Clock;
}

export interface RouteServerEvents {
  /**
   * This pod's incarnation was declared dead (lease expired, e.g. after a pause) and it registered
   * a new one: every link of `lostEpoch` is void; users may have moved (see `checkLinks`).
   */
  'pod:fenced': { readonly pod: string; readonly lostEpoch: number; readonly epoch: number };
  /** A heartbeat failed (the store is unreachable); retried at the next period. */
  'heartbeat:failed': { readonly pod: string; readonly error: unknown };
}

type Sig = { signal?: AbortSignal };

/**
 * The pod side: publishes the pod's lease with its load score and routing state every heartbeat,
 * writes and releases links to itself, and tells the pod which users it still owns. Every link
 * carries the pod's epoch (its fencing value); a pod whose lease lapsed gets a new epoch and its old
 * links are void, so it cannot silently keep users that moved.
 */
export class RouteServer {
  readonly store: RouteStore;
  readonly service: string;
  readonly pod: string;
  readonly heartbeat: number;
  readonly ttl: number;
  readonly #events = new Emitter<RouteServerEvents>({ source: PKG, diagnostics: true });
  readonly #clock: Clock;
  #load: number;
  #capacity: number;
  #state: RoutingState;
  #move = false;
  #epoch = 0;
  /** Local monotonic time at which the last successful renewal was sent. */
  #renewedAt = Number.NEGATIVE_INFINITY;
  #timer: TimerHandle | undefined;
  #beat: Promise<void> | undefined;
  #started = false;
  #closed = false;

  constructor(options: RouteServerOptions) {
    const o = parseOptions(PKG, options, {
      store: opt
        .instance<RouteStore>((v) => typeof (v as RouteStore)?.claim === 'function', 'a RouteStore')
        .required(),
      service: opt.custom((v) => serviceArg(v)).required(),
      pod: opt.custom((v) => podArg(v)).required(),
      heartbeat: opt.duration({ min: 10 }).default(2_000),
      ttl: opt.duration({ min: 30 }),
      load: opt.custom((v) => loadArg(v)).default(0),
      capacity: opt.number(0, 1_000_000).default(1),
      state: opt.custom((v) => stateArg(v)).default('NORMAL'),
      clock: opt.clock().default(systemClock),
    });
    this.store = o.store;
    this.service = o.service;
    this.pod = o.pod;
    this.heartbeat = o.heartbeat;
    this.ttl = o.ttl ?? 3 * o.heartbeat;
    this.#load = o.load;
    this.#capacity = o.capacity;
    this.#state = o.state;
    this.#clock = o.clock;
  }

  on<K extends keyof RouteServerEvents>(event: K, fn: (e: RouteServerEvents[K]) => void): () => void {
    return this.#events.on(event, fn);
  }

  /** The current incarnation (fencing value); 0 before `start`. */
  get epoch(): number {
    return this.#epoch;
  }

  /** True while the lease is certainly valid (renewed less than one TTL ago): the pod may serve. */
  get serving(): boolean {
    return this.#started && this.#clock.monotonic() - this.#renewedAt < this.ttl;
  }

  #publication(): PodPublication {
    return {
      state: this.#state,
      load: this.#load,
      capacity: this.#capacity,
      ttl: this.ttl,
      move: this.#move,
    };
  }

  /** Registers a new incarnation and starts heartbeating. */
  async start(opts: Sig = {}): Promise<number> {
    if (this.#closed) throw closedError(PKG, 'route server');
    const sent = this.#clock.monotonic();
    this.#epoch = await this.store.registerPod(this.service, this.pod, this.#publication(), opts.signal);
    this.#renewedAt = sent;
    this.#started = true;
    this.#schedule();
    return this.#epoch;
  }

  #schedule(): void {
    if (this.#closed || !this.#started) return;
    this.#timer = this.#clock.setTimeout(
      () => {
        this.#timer = undefined;
        this.#beat = this.#renew().finally(() => {
          this.#beat = undefined;
          this.#schedule();
        });
      },
      this.heartbeat,
      { unref: true },
    );
  }

  async #renew(): Promise<void> {
    const sent = this.#clock.monotonic();
    try {
      const ok = await this.store.heartbeatPod(this.service, this.pod, this.#epoch, this.#publication());
      if (!this.#started) return;
      if (ok) {
        this.#renewedAt = sent;
        return;
      }
      const lostEpoch = this.#epoch;
      this.#epoch = await this.store.registerPod(this.service, this.pod, this.#publication());
      this.#renewedAt = sent;
      this.#events.emit('pod:fenced', { pod: this.pod, lostEpoch, epoch: this.#epoch });
    } catch (error) {
      this.#events.emit('heartbeat:failed', { pod: this.pod, error });
    }
  }

  /** Publishes now (after a state or load change) instead of at the next heartbeat. */
  async #publishNow(signal?: AbortSignal): Promise<void> {
    if (!this.#started) return;
    await this.#beat;
    const ok = await this.store.heartbeatPod(
      this.service,
      this.pod,
      this.#epoch,
      this.#publication(),
      signal,
    );
    if (!ok) await this.#renew();
  }

  getLoadState(): number {
    return this.#load;
  }

  /** Sets the load score (0–100) published with the lease; new users favour less loaded pods. */
  async setLoadState(load: number, opts: Sig = {}): Promise<void> {
    this.#load = loadArg(load);
    await this.#publishNow(opts.signal);
  }

  getRoutingState(): RoutingState {
    return this.#state;
  }

  /**
   * Sets the routing state, published at once. With `DRAINING`, `move: true` lets existing users
   * move at their next request (within the callers' move budget); otherwise they stay until released.
   */
  async setRoutingState(state: RoutingState, opts: Sig & { move?: boolean } = {}): Promise<void> {
    this.#state = stateArg(state);
    this.#move = state === 'DRAINING' && opts.move === true;
    await this.#publishNow(opts.signal);
  }

  /** `setRoutingState('DRAINING', { move })`. */
  drain(opts: Sig & { move?: boolean } = {}): Promise<void> {
    return this.setRoutingState('DRAINING', opts);
  }

  /** Links the user to this pod whatever its current link (a move is recorded); returns the fencing epoch. */
  async setLinkedPod(namespace: string, uid: string, opts: Sig & { expect?: string } = {}): Promise<number> {
    this.#assertStarted();
    const mode = opts.expect === undefined ? 'force' : 'cas';
    const expect = opts.expect === undefined ? '' : opts.expect === '' ? '' : podArg(opts.expect, 'expect');
    const r = await this.store.setLink(
      namespaceArg(namespace),
      this.service,
      uidArg(uid),
      this.pod,
      mode,
      expect,
      opts.signal,
    );
    if (r.pod !== this.pod) {
      throw new SwitchyardError(
        'CONFLICT',
        `[${PKG}] user is linked to "${r.pod || 'nobody'}", not "${expect}"`,
      );
    }
    return r.epoch;
  }

  /** Links the user to this pod only if it has no valid link; returns the user's pod. */
  async trySetLinkedPod(namespace: string, uid: string, opts: Sig = {}): Promise<string> {
    this.#assertStarted();
    const r = await this.store.setLink(
      namespaceArg(namespace),
      this.service,
      uidArg(uid),
      this.pod,
      'absent',
      '',
      opts.signal,
    );
    return r.pod;
  }

  /** Releases the user if linked to this pod. */
  removeLinkedPod(namespace: string, uid: string, opts: Sig = {}): Promise<boolean> {
    return this.removeLinkedPodWithId(namespace, uid, this.pod, 0, opts);
  }

  /**
   * Releases the user's link if it points to `podId`; the link is kept `persistSeconds` so a user
   * who comes back within the window returns to the same pod (`getLinkedPodInCacheOrIfPersist`,
   * and `computeLinkedPod` re-activates it).
   */
  async removeLinkedPodWithId(
    namespace: string,
    uid: string,
    podId: string,
    persistSeconds: number,
    opts: Sig = {},
  ): Promise<boolean> {
    const ms = Math.round(persistSecondsArg(persistSeconds) * 1000);
    return this.store.removeLink(
      namespaceArg(namespace),
      this.service,
      uidArg(uid),
      podArg(podId, 'podId'),
      ms,
      opts.signal,
    );
  }

  /**
   * Which of these users this incarnation owns (linked here with the current epoch and a valid
   * lease) and which it lost (moved away, or linked to an earlier epoch of this pod). One round trip.
   */
  async checkLinks(namespace: string, uids: readonly string[], opts: Sig = {}) {
    const list = uidsArg(uids);
    const links = await this.store.getLinks(namespaceArg(namespace), this.service, list, opts.signal);
    const owned: string[] = [];
    const lost: string[] = [];
    const serving = this.serving;
    list.forEach((uid, i) => {
      const l = links[i];
      if (serving && l?.valid && l.pod === this.pod && l.epoch === this.#epoch) owned.push(uid);
      else lost.push(uid);
    });
    return { owned, lost };
  }

  /**
   * Guard before acting for a user: returns the fencing epoch when this incarnation owns the
   * user, else throws `CONFLICT`. Refuses locally once the lease may have lapsed.
   */
  async assertOwner(namespace: string, uid: string, opts: Sig = {}): Promise<number> {
    const { owned } = await this.checkLinks(namespace, [uid], opts);
    if (owned.length === 0) {
      throw new SwitchyardError(
        'CONFLICT',
        `[${PKG}] pod "${this.pod}" (epoch ${this.#epoch}) does not own user "${uid}"`,
      );
    }
    return this.#epoch;
  }

  #assertStarted(): void {
    if (this.#closed) throw closedError(PKG, 'route server');
    if (!this.#started)
      throw new SwitchyardError('CONFLICT', `[${PKG}] route server for "${this.pod}" is not started`);
  }

  /** Stops heartbeating and removes the pod's lease: its users move at their next request. */
  async stop(opts: Sig = {}): Promise<void> {
    if (!this.#started) return;
    this.#started = false;
    this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#beat;
    await this.store.removePod(this.service, this.pod, this.#epoch, opts.signal);
  }

  /** Stops heartbeating without removing the lease (it lapses at its TTL), then closes. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#started = false;
    this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#beat;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/** The pod-side driver. Call `start()` to register and heartbeat. */
export function createRouteServer(options: RouteServerOptions): RouteServer {
  return new RouteServer(options);
}

import type { Clock, TimerHandle } from '@switchyard/core';
import type { PodRecord } from './route-model.js';
import type { RouteStore } from './route-store.js';

interface ServiceView {
  pods: Map<string, PodRecord>;
  /** store time = local monotonic + offset (measured at the last listing). */
  offset: number;
  loaded: boolean;
  refreshing: Promise<void> | undefined;
  again: boolean;
}

/**
 * A caller's local copy of the pods of each service it routes to: listed on first use, relisted
 * every `refreshInterval` and at once when the store announces a pod change (pub/sub). Lease
 * deadlines are translated to the local monotonic clock, so a pod that stops heartbeating is
 * unroutable locally at its deadline without waiting for a relist.
 */
export class PodView {
  readonly #store: RouteStore;
  readonly #clock: Clock;
  readonly #interval: number;
  readonly #views = new Map<string, ServiceView>();
  readonly #onError: (error: unknown) => void;
  #timer: TimerHandle | undefined;
  #unsubscribe: (() => void) | undefined;
  #closed = false;
  #started = false;

  readonly #onLink: (namespace: string, service: string, uid: string) => void;

  constructor(
    store: RouteStore,
    clock: Clock,
    refreshInterval: number,
    onError: (e: unknown) => void,
    onLink: (namespace: string, service: string, uid: string) => void,
  ) {
    this.#onLink = onLink;
    this.#store = store;
    this.#clock = clock;
    this.#interval = refreshInterval;
    this.#onError = onError;
  }

  /** Store time now, as seen through the service's last listing. */
  storeNow(service: string): number {
    const v = this.#views.get(service);
    return this.#clock.monotonic() + (v?.offset ?? 0);
  }

  pod(service: string, pod: string): PodRecord | undefined {
    return this.#views.get(service)?.pods.get(pod);
  }

  pods(service: string): PodRecord[] {
    return [...(this.#views.get(service)?.pods.values() ?? [])];
  }

  loaded(service: string): boolean {
    return this.#views.get(service)?.loaded === true;
  }

  /** Lists the service's pods now (coalesced: a call during a listing waits for one more). */
  refresh(service: string): Promise<void> {
    if (this.#closed) return Promise.resolve();
    let v = this.#views.get(service);
    if (!v) {
      v = { pods: new Map(), offset: 0, loaded: false, refreshing: undefined, again: false };
      this.#views.set(service, v);
      this.#start();
    }
    const view = v;
    if (view.refreshing) {
      view.again = true;
      return view.refreshing;
    }
    const run = async (): Promise<void> => {
      do {
        view.again = false;
        const before = this.#clock.monotonic();
        const listing = await this.#store.listPods(service);
        const after = this.#clock.monotonic();
        view.offset = listing.now - (before + after) / 2;
        view.pods = new Map(listing.pods.map((p) => [p.pod, p]));
        view.loaded = true;
      } while (view.again && !this.#closed);
    };
    view.refreshing = run().finally(() => {
      view.refreshing = undefined;
    });
    return view.refreshing;
  }

  #start(): void {
    if (this.#started || this.#closed) return;
    this.#started = true;
    this.#unsubscribe ??= this.#store.onChange((change) => {
      if (change.kind === 'link') this.#onLink(change.namespace, change.service, change.uid);
      else if (change.kind === 'resync') {
        for (const s of this.#views.keys()) this.refresh(s).catch(this.#onError);
      } else if (this.#views.has(change.service)) this.refresh(change.service).catch(this.#onError);
    });
    const tick = () => {
      this.#timer = undefined;
      if (this.#closed) return;
      Promise.all([...this.#views.keys()].map((s) => this.refresh(s).catch(this.#onError))).finally(() => {
        if (!this.#closed) this.#timer = this.#clock.setTimeout(tick, this.#interval, { unref: true });
      });
    };
    this.#timer = this.#clock.setTimeout(tick, this.#interval, { unref: true });
  }

  close(): void {
    this.#closed = true;
    this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#unsubscribe?.();
  }
}

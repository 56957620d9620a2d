import {
  AsyncChannel,
  type Backoff,
  type DiscoveryEvent,
  diffInstances,
  type InstanceFilter,
  isEmptyDiff,
  matchesFilter,
  type ServiceInstance,
  type ServiceSnapshot,
  sleep,
  sortInstances,
  type WatchEventReason,
} from '@switchyard/core';
import type { ConsulClient, HttpResponseLike } from './consul-call.js';
import { consulCall } from './consul-call.js';
import { fromHealthEntry, type HealthEntry } from './instance-codec.js';
import type { ResolvedOptions } from './options.js';
import { TokenBucket } from './token-bucket.js';

interface Subscriber {
  filter: InstanceFilter | undefined;
  channel: AsyncChannel<DiscoveryEvent>;
  last: ServiceInstance[] | undefined;
  stale: boolean;
}

export interface WatcherSetup {
  client: ConsulClient;
  options: ResolvedOptions;
  backoff: Backoff;
  /** Called when the last subscriber leaves and the loop has stopped. */
  onIdle: () => void;
  /** Observability hook: each finished query (ok or failed). */
  onQuery?: (info: { service: string; index: number; ok: boolean; error?: unknown }) => void;
}

/**
 * One blocking-query loop per service, shared by every subscriber (Consul's docs and #5050/#4984:
 * shared queries cut server load). Follows Consul's client duties: reset the index to 0 when it goes
 * backwards, never block on an index below 1, rate-limit the loop with a token bucket, back off with
 * jitter on errors. The full instance list is fetched (all health states) and each subscriber's filter
 * is applied locally, so one query serves every filter.
 */
export class ServiceWatcher {
  readonly service: string;
  readonly #s: WatcherSetup;
  readonly #subscribers = new Set<Subscriber>();
  readonly #stop = new AbortController();
  readonly #bucket: TokenBucket;
  #instances: ServiceInstance[] | undefined;
  #revision = 0;
  #index = 0;
  #stale = false;
  #loop: Promise<void> | undefined;
  #defaultView: ServiceInstance[] | undefined;

  constructor(service: string, setup: WatcherSetup) {
    this.service = service;
    this.#s = setup;
    this.#bucket = new TokenBucket(setup.options.burst, setup.options.interval, setup.options.clock);
  }

  /** The last synced, non-stale snapshot of all instances (undefined before the first answer or while stale). */
  get current(): { instances: ServiceInstance[]; revision: number } | undefined {
    if (this.#instances === undefined || this.#stale || this.stopped) return undefined;
    return { instances: this.#instances, revision: this.#revision };
  }

  /** Instances of the current snapshot that pass `filter`; the default-filter list is computed once per change. */
  view(filter: InstanceFilter | undefined): ServiceInstance[] {
    const all = this.#instances ?? [];
    if (filter !== undefined) return all.filter((i) => matchesFilter(i, filter));
    // Shared between callers, so frozen (the contract types it readonly anyway).
    this.#defaultView ??= Object.freeze(all.filter((i) => matchesFilter(i, undefined))) as ServiceInstance[];
    return this.#defaultView;
  }

  get stopped(): boolean {
    return this.#stop.signal.aborted;
  }

  get subscriberCount(): number {
    return this.#subscribers.size;
  }

  subscribe(
    filter: InstanceFilter | undefined,
    signal: AbortSignal | undefined,
  ): AsyncChannel<DiscoveryEvent> {
    let sub: Subscriber | undefined;
    const leave = () => {
      if (!sub || !this.#subscribers.delete(sub)) return;
      sub.channel.close();
      if (this.#subscribers.size === 0) this.stop();
    };
    const channel = new AsyncChannel<DiscoveryEvent>({ onReturn: leave });
    sub = { filter, channel, last: undefined, stale: false };
    this.#subscribers.add(sub);
    if (this.#instances !== undefined) this.#deliver(sub, 'initial');
    if (signal?.aborted) leave();
    else signal?.addEventListener('abort', leave, { once: true });
    this.#loop ??= this.#run().finally(() => this.#s.onIdle());
    return channel;
  }

  /** Stops the loop and ends every subscriber's stream. */
  stop(): void {
    this.#stop.abort();
    for (const sub of this.#subscribers) sub.channel.close();
    this.#subscribers.clear();
    if (!this.#loop) this.#s.onIdle();
  }

  async #run(): Promise<void> {
    const { client, options: o, backoff } = this.#s;
    const signal = this.#stop.signal;
    let attempt = 0;
    while (!signal.aborted) {
      try {
        await this.#bucket.take(signal);
        const blocking = this.#index >= 1;
        const timeout = blocking ? o.wait + o.wait / 16 + o.requestTimeout : o.requestTimeout;
        const [res, body] = await consulCall(
          'watch',
          signal,
          (ctx) =>
            client.health.service({
              service: this.service,
              ...(blocking ? { index: String(this.#index), wait: `${o.wait}ms` } : {}),
              ...(o.stale ? { stale: true } : {}),
              ...(o.datacenter ? { dc: o.datacenter } : {}),
              token: o.token,
              ctx,
              timeout,
            } as never) as unknown as Promise<[HttpResponseLike, HealthEntry[]]>,
          // A reset connection here usually means the agent restarted: relist instead of retrying.
          { includeResponse: true, retryStaleSocket: false },
        );
        attempt = 0;
        const raw = Number(res.headers['x-consul-index']);
        const newIndex = Number.isFinite(raw) ? raw : 0;
        // Consul's duties: never block on an index below 1 (a 0 is a server bug that would busy-loop),
        // and reset to 0 (one non-blocking relist) when the index goes backwards.
        const sane = Math.max(1, newIndex);
        const wentBack = sane < this.#index;
        this.#index = wentBack ? 0 : sane;
        this.#s.onQuery?.({ service: this.service, index: newIndex, ok: true });
        this.#apply(body ?? [], newIndex, wentBack);
      } catch (error) {
        if (signal.aborted) break;
        this.#s.onQuery?.({ service: this.service, index: this.#index, ok: false, error });
        this.#markStale();
        // A failed blocking query may have lost its place: relist from scratch once we are back.
        this.#index = 0;
        try {
          await sleep(backoff(attempt++), { signal, clock: o.clock, unref: true });
        } catch {
          break;
        }
      }
    }
  }

  #apply(entries: HealthEntry[], index: number, wentBack: boolean): void {
    const { metaKeys, prefixServiceId } = this.#s.options;
    const next = sortInstances(
      entries
        .map((e) => fromHealthEntry(e, metaKeys, prefixServiceId))
        .filter((i): i is ServiceInstance => i !== undefined && i.service === this.service),
    );
    const first = this.#instances === undefined;
    const recovering = this.#stale || wentBack;
    const changed = first || !isEmptyDiff(diffInstances(this.#instances ?? [], next));
    if (changed) this.#revision = Math.max(this.#revision + 1, index);
    this.#instances = next;
    this.#defaultView = undefined;
    this.#stale = false;
    const reason: WatchEventReason = recovering ? 'resync' : 'change';
    for (const sub of this.#subscribers) this.#deliver(sub, sub.last === undefined ? 'initial' : reason);
  }

  #deliver(sub: Subscriber, reason: WatchEventReason): void {
    const instances = this.view(sub.filter);
    const snapshot: ServiceSnapshot = { service: this.service, instances, revision: this.#revision };
    if (sub.last === undefined) {
      sub.last = instances;
      sub.stale = this.#stale;
      sub.channel.push({
        snapshot,
        diff: diffInstances([], instances),
        reason: 'initial',
        stale: this.#stale,
      });
      return;
    }
    const diff = diffInstances(sub.last, instances);
    const wasStale = sub.stale;
    if (isEmptyDiff(diff) && !wasStale) return;
    sub.last = instances;
    sub.stale = false;
    sub.channel.push({ snapshot, diff, reason: wasStale ? 'resync' : reason, stale: false });
  }

  #markStale(): void {
    if (this.#stale || this.#instances === undefined) return;
    this.#stale = true;
    for (const sub of this.#subscribers) {
      if (sub.last === undefined || sub.stale) continue;
      sub.stale = true;
      sub.channel.push({
        snapshot: { service: this.service, instances: sub.last, revision: this.#revision },
        diff: { added: [], removed: [], updated: [] },
        reason: 'change',
        stale: true,
      });
    }
  }
}

import {
  AsyncChannel,
  backendUnavailable,
  type DiscoveryEvent,
  diffInstances,
  type InstanceFilter,
  isEmptyDiff,
  matchesFilter,
  type ServiceInstance,
  sortInstances,
  type TimerHandle,
  type WatchEventReason,
} from '@switchyard/core';
import type { IKeyValue, IWatchResponse, Watcher } from 'etcd3';
import { deadline, type EtcdDiscoveryContext, PKG } from './context.js';

/**
 * One `watch(service)`: a range read of `<prefix>/<service>/`, then an etcd watch from the
 * read's revision + 1. A broken stream is re-established from the last seen revision + 1 (no gap,
 * no relist). A watch that etcd cancels (compaction of the resume revision, no leader, …) is
 * replaced by a relist whose diff against the local state is emitted as a `resync` event, then a
 * new watch from the relist's revision + 1.
 */
export class ServiceWatch {
  readonly channel: AsyncChannel<DiscoveryEvent>;
  readonly #ctx: EtcdDiscoveryContext;
  readonly #service: string;
  readonly #prefix: string;
  readonly #filter: InstanceFilter | undefined;
  readonly #onStop: (watch: ServiceWatch) => void;
  readonly #all = new Map<string, ServiceInstance>();
  #emitted: ServiceInstance[] = [];
  /** Snapshot revision: the highest etcd header revision seen (monotonic). */
  #revision = 0;
  /** Next revision the etcd watch must start from. */
  #resumeFrom = 0;
  #synced = false;
  #watcher: Watcher | undefined;
  #attempt = 0;
  #timer: TimerHandle | undefined;
  /** Fires when a new watch stream is not confirmed by etcd within `requestTimeout`. */
  #watchdog: TimerHandle | undefined;
  #stopped = false;

  constructor(
    ctx: EtcdDiscoveryContext,
    service: string,
    filter: InstanceFilter | undefined,
    onStop: (watch: ServiceWatch) => void,
  ) {
    this.#ctx = ctx;
    this.#service = service;
    this.#prefix = ctx.codec.servicePrefix(service);
    this.#filter = filter;
    this.#onStop = onStop;
    this.channel = new AsyncChannel<DiscoveryEvent>({ onReturn: () => void this.stop() });
  }

  /** Snapshot revision of the last applied state. */
  get revision(): number {
    return this.#revision;
  }

  start(): void {
    void this.#sync();
  }

  /** Stops the etcd watch and ends the stream. Idempotent. */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#ctx.clock.clearTimeout(this.#timer);
    this.#ctx.clock.clearTimeout(this.#watchdog);
    this.channel.close();
    this.#onStop(this);
    const w = this.#watcher;
    this.#watcher = undefined;
    if (w) await detach(w, this.#ctx.requestTimeout);
  }

  /** Range read; the first one emits `initial`, later ones (after a cancelled watch) `resync`. */
  async #sync(): Promise<void> {
    if (this.#stopped) return;
    let kvs: IKeyValue[];
    let revision: number;
    try {
      const res = await this.#ctx.client
        .getAll()
        .prefix(this.#prefix)
        .options(deadline(this.#ctx.requestTimeout))
        .exec();
      kvs = res.kvs;
      revision = Number(res.header.revision);
    } catch (error) {
      if (this.#stopped) return;
      if (!this.#synced) {
        // Nothing to serve yet: fail the stream rather than hang the consumer.
        this.channel.fail(backendUnavailable(PKG, `watch(${this.#service}) initial read`, error));
        void this.stop();
        return;
      }
      this.#retry(() => this.#sync());
      return;
    }
    if (this.#stopped) return;
    this.#all.clear();
    for (const kv of kvs) this.#apply(kv, true);
    const reason: WatchEventReason = this.#synced ? 'resync' : 'initial';
    this.#synced = true;
    this.#revision = Math.max(this.#revision, revision);
    this.#resumeFrom = revision + 1;
    this.#emit(reason, true);
    this.#startWatcher();
  }

  #startWatcher(): void {
    if (this.#stopped) return;
    // A namespace with an empty prefix has its own watch manager, hence its own gRPC stream: one
    // stuck stream (a new connection to a frozen member never completes its handshake) cannot hold
    // every watch of the client, and it is abandoned for a fresh one when the watchdog fires.
    const w = this.#ctx.client
      .namespace('')
      .watch()
      .prefix(this.#prefix)
      .startRevision(String(this.#resumeFrom))
      .watcher();
    this.#watcher = w;
    const { clock } = this.#ctx;
    const watchdog = clock.setTimeout(() => this.#onBroken(w, false), this.#ctx.requestTimeout, {
      unref: true,
    });
    this.#watchdog = watchdog;
    w.on('connected', () => {
      if (w !== this.#watcher) return;
      clock.clearTimeout(watchdog);
      this.#attempt = 0;
    });
    w.on('data', (res) => this.#onData(w, res));
    // The stream broke: resume from the last seen revision (etcd3's own resume position is not exact).
    w.on('disconnected', () => this.#onBroken(w, false));
    // etcd cancelled this watch (compacted start revision, no leader, …): relist and diff.
    w.on('error', () => this.#onBroken(w, true));
  }

  #onData(w: Watcher, res: IWatchResponse): void {
    if (w !== this.#watcher || this.#stopped) return;
    for (const ev of res.events) {
      if (ev.type === 'Put') this.#apply(ev.kv, true);
      else this.#apply(ev.kv, false);
      this.#resumeFrom = Math.max(this.#resumeFrom, Number(ev.kv.mod_revision) + 1);
    }
    const headerRevision = Number(res.header.revision);
    // A progress notification (no events) means every change up to its revision was delivered.
    if (res.events.length === 0) this.#resumeFrom = Math.max(this.#resumeFrom, headerRevision + 1);
    this.#revision = Math.max(this.#revision, headerRevision);
    if (res.events.length > 0) this.#emit('change', false);
  }

  #apply(kv: IKeyValue, put: boolean): void {
    const key = kv.key.toString();
    const names = this.#ctx.codec.parseKey(key);
    if (!names || names.service !== this.#service) return;
    const instance = put ? this.#ctx.codec.decode(key, kv.value.toString()) : undefined;
    if (instance) this.#all.set(names.id, instance);
    else this.#all.delete(names.id);
  }

  #emit(reason: WatchEventReason, always: boolean): void {
    const instances = sortInstances([...this.#all.values()].filter((i) => matchesFilter(i, this.#filter)));
    const diff = diffInstances(this.#emitted, instances);
    if (!always && isEmptyDiff(diff)) return;
    this.#emitted = instances;
    this.channel.push({
      snapshot: { service: this.#service, instances, revision: this.#revision },
      diff,
      reason,
      stale: false,
    });
  }

  #onBroken(w: Watcher, cancelled: boolean): void {
    if (w !== this.#watcher || this.#stopped) return;
    this.#watcher = undefined;
    this.#ctx.clock.clearTimeout(this.#watchdog);
    // A cancelled watcher is already gone from etcd3's manager; a disconnected one must be detached
    // so that the manager does not re-attach it from its own (inexact) revision.
    if (cancelled) {
      silence(w);
      this.#retry(() => this.#sync());
    } else {
      void detach(w, this.#ctx.requestTimeout);
      this.#retry(() => this.#startWatcher());
    }
  }

  #retry(fn: () => void | Promise<void>): void {
    const delay = this.#ctx.backoff(this.#attempt++);
    this.#timer = this.#ctx.clock.setTimeout(() => void fn(), delay, { unref: true });
  }
}

/** Cancels an etcd3 watcher without hanging when etcd is unreachable. */
async function detach(w: Watcher, timeoutMs: number): Promise<void> {
  // Our listeners go first; etcd3's own (added by cancel) must stay so that a stream that comes
  // back later still completes the cancellation.
  silence(w);
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([
    w.cancel().catch(() => {}),
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, timeoutMs);
      timer.unref();
    }),
  ]);
  clearTimeout(timer);
}

/** Drops our listeners but keeps an `error` listener: an unhandled `error` event would throw. */
function silence(w: Watcher): void {
  w.removeAllListeners();
  w.on('error', () => {});
}

import type { InstanceFilter, ServiceInstance, WatchEventReason } from '../../contracts/discovery.js';
import { instancesEqual, sortInstances } from '../../discovery/instance.js';
import { HEALTHY_WATCH_MS } from '../../discovery/watch-loop.js';
import { backendUnavailable, SwitchyardError } from '../../errors.js';
import { deadlineSignal, raceSignal, sleep } from '../../primitives/abort.js';
import type { Backoff } from '../../primitives/backoff.js';
import type { Clock } from '../../primitives/clock.js';
import { publishDiagnostic } from '../../primitives/diagnostics.js';
import {
  type DiscoveryDriver,
  isWatchReset,
  type ServiceListing,
  type WatchBatch,
} from './discovery-driver.js';
import { FeedSubscriber } from './feed-subscriber.js';

export interface FeedSettings {
  pkg: string;
  driver: DiscoveryDriver<unknown, unknown>;
  clock: Clock;
  backoff: Backoff;
  requestTimeout: number;
  /** Poll period for drivers without `watch`, when the listing gives no `refreshAfter`. */
  pollInterval: number;
  /** Reconnect a watch that delivered nothing (no change, no progress) for this long, ms; 0 = never. */
  quietTimeout: number;
}

/** Counters of one feed, for tests and operators. */
export interface FeedStats {
  readonly watchesOpened: number;
  readonly relists: number;
  readonly resets: number;
  /** Times the backend's revision went backwards or its epoch changed (data loss): the view was replaced. */
  readonly regressions: number;
  readonly failures: number;
}

/**
 * One shared watch of one service for every subscriber of a backend client: an initial list, a
 * watch from its revision, resume from the last revision after a broken stream (or a relist when
 * the driver cannot resume), a relist with the exact diff after a reset, and a relist that replaces
 * the view when the backend's revision goes backwards or its epoch changes. Subscribers get their
 * own filtered view and diff; while the backend is unreachable they get the last state marked stale.
 */
export class ServiceFeed {
  readonly service: string;
  readonly #s: FeedSettings;
  readonly #subscribers = new Set<FeedSubscriber>();
  readonly #stop = new AbortController();
  readonly #onIdle: () => void;
  #all = new Map<string, ServiceInstance>();
  #sorted: ServiceInstance[] | undefined;
  #synced = false;
  #stale = false;
  /** The backend's position (may go backwards after data loss). */
  #cursor = { revision: 0, epoch: undefined as string | undefined, token: undefined as string | undefined };
  /** The revision subscribers see: never decreases. */
  #revision = 0;
  #stats = { watchesOpened: 0, relists: 0, resets: 0, regressions: 0, failures: 0 };

  constructor(service: string, settings: FeedSettings, onIdle: () => void) {
    this.service = service;
    this.#s = settings;
    this.#onIdle = onIdle;
    void this.#run();
  }

  get stopped(): boolean {
    return this.#stop.signal.aborted;
  }

  get stats(): FeedStats {
    return { ...this.#stats };
  }

  subscribe(filter: InstanceFilter | undefined, signal: AbortSignal | undefined): FeedSubscriber {
    const sub: FeedSubscriber = new FeedSubscriber(filter, () => this.#leave(sub));
    this.#subscribers.add(sub);
    if (signal) {
      const onAbort = () => {
        this.#leave(sub);
        sub.channel.close();
      };
      if (signal.aborted) onAbort();
      else {
        signal.addEventListener('abort', onAbort, { once: true });
        sub.detach = () => signal.removeEventListener('abort', onAbort);
      }
    }
    if (this.#synced && this.#subscribers.has(sub)) {
      sub.deliver(this.service, this.#instances(), this.#revision, 'initial', this.#stale);
    }
    return sub;
  }

  /** Ends every stream and the backend watch. */
  stop(error?: unknown): void {
    if (this.stopped) return;
    this.#stop.abort(new SwitchyardError('CLOSED', `[${this.#s.pkg}] watch of ${this.service} stopped`));
    for (const sub of this.#subscribers) {
      sub.detach();
      if (error === undefined) sub.channel.close();
      else sub.channel.fail(error);
    }
    this.#subscribers.clear();
    this.#onIdle();
  }

  #leave(sub: FeedSubscriber): void {
    if (!this.#subscribers.delete(sub)) return;
    sub.detach();
    if (this.#subscribers.size === 0) this.stop();
  }

  #instances(): ServiceInstance[] {
    this.#sorted ??= sortInstances([...this.#all.values()]);
    return this.#sorted;
  }

  #publish(reason: WatchEventReason): void {
    const all = this.#instances();
    for (const sub of this.#subscribers)
      sub.deliver(this.service, all, this.#revision, sub.started ? reason : 'initial', this.#stale);
  }

  /** Moves the visible revision forward: to the backend's, or by one when the content changed without it. */
  #advance(backendRevision: number | undefined, changed: boolean): void {
    const next = Math.max(this.#revision, backendRevision ?? 0);
    this.#revision = changed && next === this.#revision ? next + 1 : next;
  }

  #regressed(revision: number | undefined, epoch: string | undefined): boolean {
    if (!this.#synced) return false;
    if (epoch !== undefined && this.#cursor.epoch !== undefined && epoch !== this.#cursor.epoch) return true;
    return revision !== undefined && revision < this.#cursor.revision;
  }

  #applyListing(listing: ServiceListing): void {
    const regressed = this.#regressed(listing.revision, listing.epoch);
    if (regressed) this.#stats.regressions++;
    const reason: WatchEventReason = this.#synced ? 'resync' : 'initial';
    const next = new Map<string, ServiceInstance>();
    for (const inst of listing.instances) if (inst.service === this.service) next.set(inst.id, inst);
    const changed = !sameContent(this.#all, next);
    if (changed || !this.#synced) {
      this.#all = next;
      this.#sorted = undefined;
    }
    this.#cursor = {
      revision: listing.revision ?? 0,
      epoch: listing.epoch ?? this.#cursor.epoch,
      token: listing.cursor,
    };
    this.#advance(regressed ? undefined : listing.revision, changed);
    if (regressed) {
      publishDiagnostic(
        'discovery:regression',
        { service: this.service, backend: this.#s.driver.name },
        this.#s.pkg,
      );
    }
    const wasStale = this.#stale;
    this.#stale = false;
    this.#synced = true;
    if (changed || wasStale || reason === 'initial') this.#publish(reason);
  }

  /** Applies one watch batch; returns false when it reveals data loss (the caller relists). */
  #applyBatch(batch: WatchBatch): boolean {
    if (this.#regressed(batch.backendRevision ?? batch.revision, batch.epoch)) {
      this.#stats.regressions++;
      return false;
    }
    let changed = false;
    if (batch.instances) {
      const next = new Map<string, ServiceInstance>();
      for (const inst of batch.instances) if (inst.service === this.service) next.set(inst.id, inst);
      changed = !sameContent(this.#all, next);
      if (changed) this.#all = next;
    }
    for (const c of batch.changes ?? []) {
      if (c.type === 'put') {
        if (c.instance.service !== this.service) continue;
        const old = this.#all.get(c.instance.id);
        if (old && instancesEqual(old, c.instance)) continue;
        this.#all.set(c.instance.id, c.instance);
        changed = true;
      } else if (this.#all.delete(c.id)) changed = true;
    }
    if (changed) this.#sorted = undefined;
    this.#cursor = {
      revision: Math.max(this.#cursor.revision, batch.revision),
      epoch: batch.epoch ?? this.#cursor.epoch,
      token: batch.cursor ?? this.#cursor.token,
    };
    this.#advance(batch.revision, changed);
    const wasStale = this.#stale;
    this.#stale = false;
    // A resumed watch is not a relist: what it replays are ordinary changes.
    if (changed || wasStale) this.#publish('change');
    return true;
  }

  #markStale(): void {
    if (this.#stale || !this.#synced) return;
    this.#stale = true;
    this.#publish('change');
  }

  async #list(signal: AbortSignal): Promise<ServiceListing> {
    const { driver, clock, requestTimeout, pkg } = this.#s;
    const deadline = deadlineSignal(requestTimeout, {
      parent: signal,
      clock,
      what: `list of ${this.service}`,
    });
    try {
      this.#stats.relists++;
      return await raceSignal(
        driver.list(this.service, deadline.signal),
        deadline.signal,
        pkg,
        `list of ${this.service}`,
      );
    } finally {
      deadline.dispose();
    }
  }

  async #run(): Promise<void> {
    const { driver, clock, backoff, pkg } = this.#s;
    const stop = this.#stop.signal;
    const resumable = driver.resumable ?? true;
    let needList = true;
    let failures = 0;
    while (!stop.aborted) {
      let startedAt = clock.monotonic();
      let delivered = false;
      try {
        if (needList) {
          const listing = await this.#list(stop);
          if (stop.aborted) return;
          this.#applyListing(listing);
          needList = false;
          if (!driver.watch) {
            failures = 0;
            await sleep(listing.refreshAfter ?? this.#s.pollInterval, {
              clock,
              signal: stop,
              pkg,
              unref: true,
            });
            needList = true;
            continue;
          }
        }
        startedAt = clock.monotonic();
        this.#stats.watchesOpened++;
        const regressed = await this.#follow(stop, () => {
          delivered = true;
        });
        if (stop.aborted) return;
        if (regressed) {
          needList = true;
          continue;
        }
        throw new SwitchyardError('BACKEND_UNAVAILABLE', `[${pkg}] watch of ${this.service} ended`);
      } catch (error) {
        if (stop.aborted) return;
        this.#stats.failures++;
        if (!this.#synced) {
          // Nothing to serve yet: fail the streams rather than keep the consumers waiting.
          this.stop(backendUnavailable(pkg, `watch of ${this.service}`, error));
          return;
        }
        if (isWatchReset(error)) {
          this.#stats.resets++;
          needList = true;
        } else {
          // One broken stream that resumes at once is a blip; a second failure in a row without a
          // healthy watch in between means the backend is really unreachable: serve stale.
          if (failures > 0 || !delivered) this.#markStale();
          if (!resumable) needList = true;
        }
        publishDiagnostic(
          'discovery:watch-error',
          { service: this.service, backend: driver.name, error },
          pkg,
        );
      }
      // Only a watch that worked for a while resets the backoff: one that fails right after it
      // opens must not turn into a tight reconnect loop.
      if (delivered && clock.monotonic() - startedAt >= HEALTHY_WATCH_MS) failures = 0;
      try {
        await sleep(backoff(failures++), { clock, signal: stop, pkg, unref: true });
      } catch {
        return;
      }
    }
  }

  /** Follows one watch stream; resolves `true` when a batch revealed data loss (relist needed). */
  async #follow(stop: AbortSignal, onBatch: () => void): Promise<boolean> {
    const { driver, clock, quietTimeout, pkg } = this.#s;
    const attempt = new AbortController();
    const onStop = () => attempt.abort(stop.reason);
    stop.addEventListener('abort', onStop, { once: true });
    let quiet: ReturnType<Clock['setTimeout']> | undefined;
    const arm = () => {
      if (quietTimeout <= 0) return;
      clock.clearTimeout(quiet);
      quiet = clock.setTimeout(
        () =>
          attempt.abort(
            new SwitchyardError(
              'BACKEND_UNAVAILABLE',
              `[${pkg}] watch of ${this.service} was silent for ${quietTimeout} ms`,
            ),
          ),
        quietTimeout,
        { unref: true },
      );
    };
    const from = { revision: this.#cursor.revision, epoch: this.#cursor.epoch, cursor: this.#cursor.token };
    const iterator = driver.watch!(this.service, from, attempt.signal)[Symbol.asyncIterator]();
    try {
      arm();
      for (;;) {
        const next = await raceSignal(iterator.next(), attempt.signal, pkg, `watch of ${this.service}`);
        if (next.done) return false;
        arm();
        onBatch();
        if (!this.#applyBatch(next.value)) return true;
      }
    } catch (error) {
      throw attempt.signal.aborted && !stop.aborted ? attempt.signal.reason : error;
    } finally {
      clock.clearTimeout(quiet);
      stop.removeEventListener('abort', onStop);
      attempt.abort();
      void Promise.resolve()
        .then(() => iterator.return?.())
        .catch(() => {});
    }
  }
}

function sameContent(
  a: ReadonlyMap<string, ServiceInstance>,
  b: ReadonlyMap<string, ServiceInstance>,
): boolean {
  if (a.size !== b.size) return false;
  for (const [id, inst] of a) {
    const other = b.get(id);
    if (!other || (other !== inst && !instancesEqual(other, inst))) return false;
  }
  return true;
}

import { type Clock, type DiscoveryBackend, deadlineSignal, type ServiceInstance } from '@switchyard/core';

const ALL_HEALTH = ['passing', 'warning', 'critical', 'maintenance'] as const;

/** The live instances of one service, kept by the backend's watch. */
export interface ServiceView {
  readonly service: string;
  instances: readonly ServiceInstance[];
  /** Bumped on every snapshot: answers cached for an older version are stale. */
  version: number;
  /** True while the backend is unreachable and `instances` is the last known state. */
  stale: boolean;
}

interface Slot {
  view: ServiceView;
  ready: Promise<boolean>;
  abort: AbortController;
  done?: Promise<void>;
}

export interface RegistryViewOptions {
  clock: Clock;
  /** Deadline for the first snapshot of a service and for `services()`, ms. */
  requestTimeout: number;
  /** A name the server does not know refreshes the service list at most this often, ms. */
  missRefresh: number;
  /** Services watched at most (a bound on memory and on backend watches). */
  maxServices: number;
  onError: (error: unknown) => void;
}

/**
 * What the DNS server knows of the registry: the service names (`services()`, refreshed on a miss,
 * rate-limited), and one shared watch per queried service that keeps its instances current. A name
 * that is not a known service never starts a watch, so random names cannot exhaust the backend.
 */
export class RegistryView {
  readonly #backend: DiscoveryBackend;
  readonly #o: RegistryViewOptions;
  readonly #slots = new Map<string, Slot>();
  /** Lower-cased name → the service's own spelling (DNS compares names case-insensitively). */
  #known = new Map<string, string>();
  #knownVersion = 0;
  #lastRefresh = Number.NEGATIVE_INFINITY;
  #refreshing: Promise<void> | undefined;
  #pause: Promise<void> | undefined;
  #closed = false;
  #listFailed = false;

  constructor(backend: DiscoveryBackend, options: RegistryViewOptions) {
    this.#backend = backend;
    this.#o = options;
  }

  /** Service names with instances, as of the last refresh. */
  /** The services' own names. */
  get known(): string[] {
    return [...this.#known.values()];
  }

  get knownVersion(): number {
    return this.#knownVersion;
  }

  /** True when the last read of the service list failed (an unknown name is then SERVFAIL, not NXDOMAIN). */
  get listFailed(): boolean {
    return this.#listFailed;
  }

  /** Whether `service` (lower case) is a known or watched service name (no backend call). */
  has(service: string): boolean {
    return this.#known.has(service) || this.#slots.has(service);
  }

  /**
   * Resolves once a read of the service list that started after this call has completed, so a
   * name registered just before the query is found. Reads are shared and start at most once per
   * `missRefresh` ms, however many unknown names arrive (a flood costs one read per period).
   */
  async refreshKnown(): Promise<void> {
    const asked = this.#o.clock.monotonic();
    while (!this.#closed && this.#lastRefresh < asked) {
      if (this.#refreshing) {
        await this.#refreshing;
        continue;
      }
      const wait = this.#lastRefresh + this.#o.missRefresh - this.#o.clock.monotonic();
      if (wait > 0) {
        this.#pause ??= new Promise<void>((r) =>
          this.#o.clock.setTimeout(
            () => {
              this.#pause = undefined;
              r();
            },
            wait,
            { unref: true },
          ),
        );
        await this.#pause;
        continue;
      }
      this.#startRefresh();
    }
    await this.#refreshing;
  }

  #startRefresh(): void {
    this.#lastRefresh = this.#o.clock.monotonic();
    const deadline = deadlineSignal(this.#o.requestTimeout, { clock: this.#o.clock, what: 'services()' });
    this.#refreshing = this.#backend
      .services({ signal: deadline.signal })
      .then((names) => {
        this.#listFailed = false;
        const next = new Map(names.map((n) => [n.toLowerCase(), n]));
        if (next.size !== this.#known.size || names.some((n) => this.#known.get(n.toLowerCase()) !== n)) {
          this.#known = next;
          this.#knownVersion++;
        }
      })
      .catch((e: unknown) => {
        this.#listFailed = true;
        this.#o.onError(e);
      })
      .finally(() => {
        deadline.dispose();
        this.#refreshing = undefined;
      });
  }

  /** The view of a known service (lower case), after its first snapshot; `undefined` when unknown or not ready in time. */
  async view(service: string): Promise<ServiceView | undefined> {
    let slot = this.#slots.get(service);
    if (!slot) {
      const name = this.#known.get(service);
      if (name === undefined || this.#closed) return undefined;
      if (this.#slots.size >= this.#o.maxServices && !this.#evictEmpty()) return undefined;
      slot = this.#watch(service, name);
    }
    const ready = await raceTimeout(slot.ready, this.#o.requestTimeout, this.#o.clock);
    return ready ? slot.view : undefined;
  }

  /** The view if it is already watched and ready (the hot path: no await). */
  peek(service: string): ServiceView | undefined {
    const slot = this.#slots.get(service);
    return slot && slot.view.version > 0 ? slot.view : undefined;
  }

  /** Frees the watch of a service that has no instances left; false when every watched one has some. */
  #evictEmpty(): boolean {
    for (const [service, slot] of this.#slots) {
      if (slot.view.version > 0 && slot.view.instances.length === 0) {
        slot.abort.abort();
        this.#slots.delete(service);
        return true;
      }
    }
    return false;
  }

  #watch(key: string, service: string): Slot {
    const abort = new AbortController();
    const view: ServiceView = { service, instances: [], version: 0, stale: false };
    let markReady: (ok: boolean) => void = () => {};
    const ready = new Promise<boolean>((r) => {
      markReady = r;
    });
    const slot: Slot = { view, ready, abort };
    this.#slots.set(key, slot);
    slot.done = (async () => {
      try {
        for await (const e of this.#backend.watch(service, {
          filter: { health: ALL_HEALTH },
          signal: abort.signal,
        })) {
          view.instances = e.snapshot.instances;
          view.stale = e.stale;
          view.version++;
          markReady(true);
        }
      } catch (e) {
        if (!abort.signal.aborted) this.#o.onError(e);
      } finally {
        markReady(false);
        if (this.#slots.get(key) === slot) this.#slots.delete(key);
      }
    })();
    return slot;
  }

  async close(): Promise<void> {
    this.#closed = true;
    const slots = [...this.#slots.values()];
    for (const s of slots) s.abort.abort();
    await Promise.all(slots.map((s) => s.done));
    await this.#refreshing;
  }
}

function raceTimeout(p: Promise<boolean>, ms: number, clock: Clock): Promise<boolean> {
  return new Promise((resolve) => {
    const t = clock.setTimeout(() => resolve(false), ms, { unref: true });
    p.then((v) => {
      clock.clearTimeout(t);
      resolve(v);
    });
  });
}

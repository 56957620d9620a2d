import type {
  DiscoveryBackend,
  DiscoveryCapabilities,
  DiscoveryEvent,
  InstanceFilter,
  InstanceHealth,
  InstanceInput,
  RegisterOptions,
  Registration,
  RegistrationEvents,
  ServiceInstance,
  ServiceSnapshot,
} from '../contracts/discovery.js';
import {
  diffInstances,
  INSTANCE_HEALTH,
  isEmptyDiff,
  matchesFilter,
  normalizeInstance,
  sortInstances,
  validateFilter,
} from '../discovery/instance.js';
import { SwitchyardError } from '../errors.js';
import { throwIfAborted } from '../primitives/abort.js';
import { AsyncChannel } from '../primitives/channel.js';
import { type Clock, systemClock, type TimerHandle } from '../primitives/clock.js';
import { Emitter, type Unsubscribe } from '../primitives/emitter.js';
import { assertDuration, assertOneOf, assertServiceName } from '../validation.js';

const PKG = 'core/memory-discovery';

interface Entry {
  instance: ServiceInstance;
  timer: TimerHandle | undefined;
  /** Which registration owns it (a re-register replaces the owner). */
  owner: symbol;
}

/**
 * The shared state of an in-memory registry. Several `createMemoryDiscovery` clients on one store
 * behave like several processes talking to one server.
 */
export class MemoryDiscoveryStore {
  readonly clock: Clock;
  #revision = 0;
  readonly #services = new Map<string, Map<string, Entry>>();
  readonly #listeners = new Set<(service: string, revision: number) => void>();

  constructor(options: { clock?: Clock } = {}) {
    this.clock = options.clock ?? systemClock;
  }

  get revision(): number {
    return this.#revision;
  }

  snapshot(service: string): { instances: ServiceInstance[]; revision: number } {
    const entries = this.#services.get(service);
    return {
      instances: entries ? sortInstances([...entries.values()].map((e) => e.instance)) : [],
      revision: this.#revision,
    };
  }

  services(): string[] {
    return [...this.#services.keys()].filter((s) => (this.#services.get(s)?.size ?? 0) > 0).sort();
  }

  has(service: string, id: string, owner: symbol): boolean {
    return this.#services.get(service)?.get(id)?.owner === owner;
  }

  put(instance: ServiceInstance, ttl: number, owner: symbol): void {
    let entries = this.#services.get(instance.service);
    if (!entries) {
      entries = new Map();
      this.#services.set(instance.service, entries);
    }
    const old = entries.get(instance.id);
    this.clock.clearTimeout(old?.timer);
    const entry: Entry = { instance, owner, timer: undefined };
    entry.timer = this.clock.setTimeout(() => this.remove(instance.service, instance.id, owner), ttl, {
      unref: true,
    });
    entries.set(instance.id, entry);
    this.#bump(instance.service);
  }

  /** Resets the TTL; false if the entry is gone or owned by someone else. */
  touch(service: string, id: string, ttl: number, owner: symbol): boolean {
    const entry = this.#services.get(service)?.get(id);
    if (!entry || entry.owner !== owner) return false;
    this.clock.clearTimeout(entry.timer);
    entry.timer = this.clock.setTimeout(() => this.remove(service, id, owner), ttl, { unref: true });
    return true;
  }

  update(service: string, id: string, owner: symbol, patch: Partial<ServiceInstance>): boolean {
    const entry = this.#services.get(service)?.get(id);
    if (!entry || entry.owner !== owner) return false;
    entry.instance = Object.freeze({ ...entry.instance, ...patch });
    this.#bump(service);
    return true;
  }

  remove(service: string, id: string, owner?: symbol): boolean {
    const entries = this.#services.get(service);
    const entry = entries?.get(id);
    if (!entries || !entry || (owner !== undefined && entry.owner !== owner)) return false;
    this.clock.clearTimeout(entry.timer);
    entries.delete(id);
    this.#bump(service);
    return true;
  }

  /** Drops every entry (simulates a server that lost its data). */
  reset(): void {
    for (const [service, entries] of this.#services) {
      for (const e of entries.values()) this.clock.clearTimeout(e.timer);
      entries.clear();
      this.#bump(service);
    }
  }

  subscribe(listener: (service: string, revision: number) => void): Unsubscribe {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #bump(service: string): void {
    const rev = ++this.#revision;
    for (const l of [...this.#listeners]) l(service, rev);
  }
}

export interface MemoryDiscoveryOptions {
  /** Share one store between clients to simulate several processes (default: a private store). */
  store?: MemoryDiscoveryStore;
  clock?: Clock;
  /** Default registration TTL in ms (default 10 000). */
  ttl?: number;
}

/** The embedded default discovery backend: TTL expiry, heartbeats, health, watch with diffs. */
export function createMemoryDiscovery(options: MemoryDiscoveryOptions = {}): DiscoveryBackend {
  const store = options.store ?? new MemoryDiscoveryStore({ clock: options.clock ?? systemClock });
  const clock = options.clock ?? store.clock;
  const defaultTtl = assertDuration(PKG, 'ttl', options.ttl ?? 10_000);
  const registrations = new Set<MemoryRegistration>();
  const watches = new Set<AsyncChannel<DiscoveryEvent>>();
  let closed = false;

  const capabilities: DiscoveryCapabilities = Object.freeze({
    watch: true,
    ttlGranularity: 'milliseconds',
    healthUpdates: true,
    register: true,
  });

  function assertOpen(): void {
    if (closed) throw new SwitchyardError('CLOSED', `[${PKG}] client is closed`);
  }

  function filtered(service: string, filter: InstanceFilter | undefined): ServiceSnapshot {
    const { instances, revision } = store.snapshot(service);
    return { service, revision, instances: instances.filter((i) => matchesFilter(i, filter)) };
  }

  const backend: DiscoveryBackend = {
    name: 'memory',
    capabilities,
    async register(input: InstanceInput, opts: RegisterOptions = {}): Promise<Registration> {
      assertOpen();
      const instance = normalizeInstance(PKG, input);
      const ttl = assertDuration(PKG, 'ttl', opts.ttl ?? defaultTtl, { min: 1 });
      throwIfAborted(PKG, opts.signal, 'register');
      const reg = new MemoryRegistration(store, clock, instance, ttl, () => registrations.delete(reg));
      registrations.add(reg);
      return reg;
    },
    async resolve(service, opts = {}) {
      assertOpen();
      assertServiceName(PKG, 'service', service);
      validateFilter(PKG, opts.filter);
      throwIfAborted(PKG, opts.signal, 'resolve');
      return filtered(service, opts.filter);
    },
    watch(service, opts = {}) {
      assertOpen();
      assertServiceName(PKG, 'service', service);
      validateFilter(PKG, opts.filter);
      let last = filtered(service, opts.filter);
      let unsubscribe: Unsubscribe = () => {};
      const channel = new AsyncChannel<DiscoveryEvent>({
        onReturn: () => {
          unsubscribe();
          watches.delete(channel);
        },
      });
      watches.add(channel);
      channel.push({
        snapshot: last,
        diff: diffInstances([], last.instances),
        reason: 'initial',
        stale: false,
      });
      unsubscribe = store.subscribe((changed) => {
        if (changed !== service) return;
        const next = filtered(service, opts.filter);
        const diff = diffInstances(last.instances, next.instances);
        if (isEmptyDiff(diff)) return;
        last = next;
        channel.push({ snapshot: next, diff, reason: 'change', stale: false });
      });
      const stop = () => {
        unsubscribe();
        watches.delete(channel);
        channel.close();
      };
      if (opts.signal?.aborted) stop();
      opts.signal?.addEventListener('abort', stop, { once: true });
      return channel;
    },
    async services(opts = {}) {
      assertOpen();
      throwIfAborted(PKG, opts.signal, 'services');
      return store.services();
    },
    async close() {
      if (closed) return;
      closed = true;
      await Promise.all([...registrations].map((r) => r.close()));
      for (const w of watches) w.close();
      watches.clear();
    },
    async [Symbol.asyncDispose]() {
      await backend.close();
    },
  };
  return backend;
}

class MemoryRegistration implements Registration {
  readonly #store: MemoryDiscoveryStore;
  readonly #clock: Clock;
  readonly #ttl: number;
  readonly #owner = Symbol('registration');
  readonly #events = new Emitter<RegistrationEvents>();
  readonly #onClose: () => void;
  #instance: ServiceInstance;
  #timer: TimerHandle | undefined;
  #closed = false;
  #lost = false;

  constructor(
    store: MemoryDiscoveryStore,
    clock: Clock,
    instance: ServiceInstance,
    ttl: number,
    onClose: () => void,
  ) {
    this.#store = store;
    this.#clock = clock;
    this.#instance = instance;
    this.#ttl = ttl;
    this.#onClose = onClose;
    store.put(instance, ttl, this.#owner);
    this.#schedule();
  }

  get instance(): ServiceInstance {
    return this.#instance;
  }

  on<K extends keyof RegistrationEvents>(
    event: K,
    listener: (payload: RegistrationEvents[K]) => void,
  ): Unsubscribe {
    return this.#events.on(event, listener);
  }

  async setHealth(health: InstanceHealth, options: { signal?: AbortSignal } = {}): Promise<void> {
    assertOneOf(PKG, 'health', health, INSTANCE_HEALTH);
    throwIfAborted(PKG, options.signal, 'setHealth');
    if (this.#closed) throw new SwitchyardError('CLOSED', `[${PKG}] registration is closed`);
    this.#instance = Object.freeze({ ...this.#instance, health });
    if (!this.#store.update(this.#instance.service, this.#instance.id, this.#owner, { health })) {
      this.#heartbeat();
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#clock.clearTimeout(this.#timer);
    this.#store.remove(this.#instance.service, this.#instance.id, this.#owner);
    this.#events.removeAll();
    this.#onClose();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  #schedule(): void {
    this.#timer = this.#clock.setTimeout(() => this.#heartbeat(), Math.max(1, this.#ttl / 3), {
      unref: true,
    });
  }

  #heartbeat(): void {
    if (this.#closed) return;
    const { service, id } = this.#instance;
    if (this.#store.touch(service, id, this.#ttl, this.#owner)) {
      if (this.#lost) {
        this.#lost = false;
        this.#events.emit('registration:restored', { instance: this.#instance });
      }
    } else {
      if (!this.#lost) {
        this.#lost = true;
        this.#events.emit('registration:lost', {
          instance: this.#instance,
          cause: new SwitchyardError('NOT_FOUND', `[${PKG}] registration of ${service}/${id} expired`),
        });
      }
      this.#store.put(this.#instance, this.#ttl, this.#owner);
      this.#lost = false;
      this.#events.emit('registration:restored', { instance: this.#instance });
    }
    this.#clock.clearTimeout(this.#timer);
    this.#schedule();
  }
}

import type { DiscoveryCapabilities, ServiceInstance } from '../contracts/discovery.js';
import { sortInstances } from '../discovery/instance.js';
import {
  defineDiscoveryBackend,
  type KitDiscoveryBackend,
} from '../driver/discovery/define-discovery-backend.js';
import type { WatchBatch } from '../driver/discovery/discovery-driver.js';
import type { RegistrationDriver } from '../driver/registration/registration-driver.js';
import { DEFAULT_TTL } from '../naming.js';
import { opt, parseOptions } from '../options/option-schema.js';
import { fullJitterBackoff } from '../primitives/backoff.js';
import { AsyncChannel } from '../primitives/channel.js';
import { type Clock, systemClock, type TimerHandle } from '../primitives/clock.js';
import type { Unsubscribe } from '../primitives/emitter.js';

const PKG = 'core';

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
  /** Where a throwing registration-event listener's error goes (default: a process warning). */
  onListenerError?: (error: unknown, event: string) => void;
}

const CAPABILITIES: DiscoveryCapabilities = Object.freeze({
  watch: true,
  ttlGranularity: 'milliseconds',
  healthUpdates: true,
  register: true,
});

/**
 * The embedded default discovery backend: TTL expiry, heartbeats, health, watch with diffs. It is
 * the reference driver of the kit: the store plays the server, the driver is its four calls.
 */
/** The memory driver's handle of a live record. */
export interface MemoryRecord {
  readonly owner: symbol;
  readonly ttl: number;
}

export function createMemoryDiscovery(
  options: MemoryDiscoveryOptions = {},
): KitDiscoveryBackend<MemoryRecord> {
  const o = parseOptions(PKG, options, {
    store: opt.instance<MemoryDiscoveryStore>(
      (v) => v instanceof MemoryDiscoveryStore,
      'a MemoryDiscoveryStore',
    ),
    clock: opt.clock(),
    ttl: opt.duration().default(DEFAULT_TTL.registration),
    onListenerError: opt.func<(error: unknown, event: string) => void>(),
  });
  const store = o.store ?? new MemoryDiscoveryStore({ clock: o.clock ?? systemClock });
  const clock = o.clock ?? store.clock;

  const registration: RegistrationDriver<MemoryRecord> = {
    async put(instance, ttl) {
      const record = { owner: Symbol(instance.id), ttl };
      store.put(instance, ttl, record.owner);
      return record;
    },
    async heartbeat(record, instance) {
      return store.touch(instance.service, instance.id, record.ttl, record.owner);
    },
    async update(record, instance) {
      return store.update(instance.service, instance.id, record.owner, { health: instance.health });
    },
    async remove(record, instance) {
      if (record !== undefined) store.remove(instance.service, instance.id, record.owner);
    },
  };

  return defineDiscoveryBackend(
    {
      name: 'memory',
      capabilities: CAPABILITIES,
      registration,
      async list(service) {
        return store.snapshot(service);
      },
      watch(service, from, signal) {
        const channel = new AsyncChannel<WatchBatch>({ onReturn: () => unsubscribe() });
        const unsubscribe = store.subscribe((changed, revision) => {
          if (changed === service) channel.push({ instances: store.snapshot(service).instances, revision });
        });
        signal.addEventListener(
          'abort',
          () => {
            unsubscribe();
            channel.close();
          },
          { once: true },
        );
        // Changes between the caller's position and now: the current state covers them.
        if (store.revision > from.revision) channel.push(store.snapshot(service));
        return channel;
      },
      async services() {
        return store.services();
      },
    },
    {
      pkg: PKG,
      clock,
      backoff: fullJitterBackoff({ base: 10, max: 1_000 }),
      requestTimeout: 10_000,
      ttl: o.ttl,
      onListenerError: o.onListenerError,
    },
  );
}

import type {
  DiscoveryBackend,
  DiscoveryEvent,
  InstanceFilter,
  InstanceInput,
  ServiceSnapshot,
} from '../../contracts/discovery.js';
import {
  assertRegistrable,
  matchesFilter,
  normalizeInstance,
  sortInstances,
  validateFilter,
} from '../../discovery/instance.js';
import { closedError, SwitchyardError, unsupportedError } from '../../errors.js';
import { opt, parseOptions } from '../../options/option-schema.js';
import type { Backoff } from '../../primitives/backoff.js';
import type { Clock } from '../../primitives/clock.js';
import type { ListenerErrorHandler } from '../../primitives/emitter.js';
import { assertServiceName } from '../../validation.js';
import { callBackend } from '../backend-call.js';
import { ManagedRegistration } from '../registration/managed-registration.js';
import type { DiscoveryDriver } from './discovery-driver.js';
import { type FeedStats, ServiceFeed } from './service-feed.js';

export interface DiscoveryKitOptions {
  pkg: string;
  clock: Clock;
  /** Delays between watch reconnects and between heartbeat/re-registration retries. */
  backoff: Backoff;
  /** Deadline of one backend call, ms. */
  requestTimeout: number;
  /** Default registration TTL, ms. */
  ttl: number;
  /** Smallest TTL the backend honours, ms (1 000 for seconds-granular backends). */
  minTtl?: number;
  /** Heartbeat period, ms (default ttl / 3). */
  heartbeatInterval?: number;
  /** Poll period for drivers without a push watch, when a listing gives no `refreshAfter` (default 30 000). */
  pollInterval?: number;
  /** Reconnect a watch silent for this long, ms (default 0: never). */
  quietTimeout?: number;
  /** Where a throwing registration-event listener's error goes (default: a process warning). */
  onListenerError?: ListenerErrorHandler | undefined;
}

/** A discovery backend built on the kit: registrations are `ManagedRegistration`s. */
export interface KitDiscoveryBackend<Handle = unknown, Extra = Record<string, unknown>>
  extends DiscoveryBackend {
  register(
    instance: InstanceInput,
    options?: { ttl?: number; signal?: AbortSignal } & Partial<Extra>,
  ): Promise<ManagedRegistration<Handle, Extra>>;
  /** Shared watches running now (one per watched service, however many watchers). */
  readonly activeWatches: number;
  /** Counters of the shared watch of `service`, if one is running. */
  watchStats(service: string): FeedStats | undefined;
}

/**
 * Builds a `DiscoveryBackend` from a driver. The kit validates every argument (unknown option keys
 * included), refuses a second registration of the same instance id on one client (`CONFLICT`: close
 * the first, or use another id), keeps registrations alive (`ManagedRegistration`), shares one watch
 * per service between subscribers, and releases everything on `close()` before it resolves.
 */
export function defineDiscoveryBackend<Handle, Extra>(
  driver: DiscoveryDriver<Handle, Extra>,
  kit: DiscoveryKitOptions,
): KitDiscoveryBackend<Handle, Extra> {
  const { pkg, clock, requestTimeout } = kit;
  const minTtl = kit.minTtl ?? 1;
  const registerSchema = {
    ttl: opt.duration({ min: minTtl }).default(kit.ttl),
    signal: opt.signal(),
    ...driver.registerOptions,
  };
  type Slot = { reg: ManagedRegistration<Handle, Extra> | undefined };
  const registrations = new Map<string, Slot>();
  const feeds = new Map<string, ServiceFeed>();
  let closed = false;
  let closing: Promise<void> | undefined;

  const feedSettings = {
    pkg,
    driver: driver as DiscoveryDriver<unknown, unknown>,
    clock,
    backoff: kit.backoff,
    requestTimeout,
    pollInterval: kit.pollInterval ?? 30_000,
    quietTimeout: kit.quietTimeout ?? 0,
  };

  function assertOpen(): void {
    if (closed) throw closedError(pkg, `${driver.name} discovery client`);
  }

  function readArgs(service: unknown, options: unknown) {
    assertOpen();
    const o = parseOptions(pkg, options, {
      filter: opt.custom((v) => v as InstanceFilter),
      signal: opt.signal(),
    });
    assertServiceName(pkg, 'service', service);
    validateFilter(pkg, o.filter);
    return o;
  }

  function call<T>(
    what: string,
    signal: AbortSignal | undefined,
    fn: (s: AbortSignal) => Promise<T>,
  ): Promise<T> {
    return callBackend(what, { pkg, clock, timeout: requestTimeout, signal }, fn);
  }

  const backend: KitDiscoveryBackend<Handle, Extra> = {
    name: driver.name,
    capabilities: driver.capabilities,

    get activeWatches() {
      return feeds.size;
    },

    watchStats(service) {
      return feeds.get(service)?.stats;
    },

    async register(input, options = {}) {
      assertOpen();
      const registration = driver.registration;
      if (!registration) throw unsupportedError(pkg, 'register', `${driver.name} discovery is read-only`);
      const instance = assertRegistrable(pkg, normalizeInstance(pkg, input));
      const { ttl, signal, ...extra } = parseOptions(pkg, options, registerSchema);
      const id = `${instance.service}\u0000${instance.id}`;
      if (registrations.has(id)) {
        throw new SwitchyardError(
          'CONFLICT',
          `[${pkg}] ${instance.service}/${instance.id} is already registered by this client (close that registration first)`,
          { details: { service: instance.service, id: instance.id } },
        );
      }
      // The slot reserves the id while the first put runs, so two concurrent registers cannot both pass.
      const slot: Slot = { reg: undefined };
      registrations.set(id, slot);
      const release = () => {
        if (registrations.get(id) === slot) registrations.delete(id);
      };
      try {
        slot.reg = await ManagedRegistration.create(
          {
            pkg,
            driver: registration,
            instance,
            ttl,
            ...(kit.heartbeatInterval === undefined ? {} : { heartbeatInterval: kit.heartbeatInterval }),
            requestTimeout,
            clock,
            backoff: kit.backoff,
            extra: extra as Extra,
            onClose: release,
            onListenerError: kit.onListenerError,
          },
          signal,
        );
      } catch (error) {
        release();
        throw error;
      }
      if (closed) {
        await slot.reg.close().catch(() => {});
        throw closedError(pkg, `${driver.name} discovery client`);
      }
      return slot.reg;
    },

    async resolve(service, options = {}): Promise<ServiceSnapshot> {
      const { filter, signal } = readArgs(service, options);
      const listing = await call(`resolve ${service}`, signal, (s) => driver.list(service, s));
      const instances = sortInstances(
        listing.instances.filter((i) => i.service === service && matchesFilter(i, filter)),
      );
      return { service, instances, revision: listing.revision ?? 0 };
    },

    watch(service, options = {}): AsyncIterable<DiscoveryEvent> {
      const { filter, signal } = readArgs(service, options);
      let feed = feeds.get(service);
      if (!feed || feed.stopped) {
        const created: ServiceFeed = new ServiceFeed(service, feedSettings, () => {
          if (feeds.get(service) === created) feeds.delete(service);
        });
        feeds.set(service, created);
        feed = created;
      }
      return feed.subscribe(filter, signal).channel;
    },

    async services(options = {}) {
      assertOpen();
      const { signal } = parseOptions(pkg, options, { signal: opt.signal() });
      const names = await call('services', signal, (s) => driver.services(s));
      return [...new Set(names)].sort();
    },

    close() {
      closing ??= (async () => {
        closed = true;
        for (const feed of [...feeds.values()]) feed.stop();
        feeds.clear();
        const open = [...registrations.values()].flatMap((slot) => (slot.reg ? [slot.reg] : []));
        const results = await Promise.allSettled(open.map((r) => r.close()));
        registrations.clear();
        await driver.close?.();
        const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
        if (failed) throw failed.reason;
      })();
      return closing;
    },

    async [Symbol.asyncDispose]() {
      await backend.close();
    },
  };
  return backend;
}

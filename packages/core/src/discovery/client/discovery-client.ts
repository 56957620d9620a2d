import type { InstanceDiff, InstanceInput } from '../../contracts/discovery.js';
import type { TrafficRules } from '../../contracts/traffic-rules.js';
import { backendUnavailable, invalidArgument, SwitchyardError } from '../../errors.js';
import { opt, parseOptions } from '../../options/option-schema.js';
import { deadlineSignal, raceSignal, throwIfAborted } from '../../primitives/abort.js';
import { Emitter, type Unsubscribe } from '../../primitives/emitter.js';
import { assertServiceName } from '../../validation.js';
import { sortInstances, validateFilter } from '../instance.js';
import { ClientRegistration } from './client-registration.js';
import { CLIENT_PKG as PKG, resolveClientOptions } from './options.js';
import { ALL_HEALTH, ServiceCache } from './service-cache.js';
import { toSnapshot } from './subscriber.js';
import { TrafficFilter } from './traffic-filter.js';
import type {
  ClientDiscoveryEvent,
  ClientInstanceFilter,
  ClientRegisterOptions,
  ClientRegistration as ClientRegistrationContract,
  ClientResolveOptions,
  ClientSnapshot,
  DiscoveryClient,
  DiscoveryClientEvents,
  DiscoveryClientOptions,
  ServiceStatus,
} from './types.js';
import { computeView } from './view.js';

const RESOLVE_SCHEMA = {
  filter: opt.custom((v) => v as ClientInstanceFilter),
  signal: opt.signal(),
};

/**
 * A discovery client over any `DiscoveryBackend`: a watch-driven cache per service, filters and
 * operator traffic rules applied locally, stale-on-error, a mass-failure guard, anti-entropy
 * relists, and managed registrations. It is itself a `DiscoveryBackend`, so a load balancer can
 * take either.
 */
export function createDiscoveryClient(options: DiscoveryClientOptions): DiscoveryClient {
  const opts = resolveClientOptions(options);
  const { backend, clock } = opts;
  const events = new Emitter<DiscoveryClientEvents>({
    diagnostics: true,
    source: 'core',
    diagnosticsFields: { backend: backend.name },
    ...(opts.onListenerError ? { onListenerError: opts.onListenerError } : {}),
  });
  const caches = new Map<string, ServiceCache>();
  const registrations = new Set<ClientRegistration>();
  let traffic = new TrafficFilter(opts.rules?.current());
  let closed = false;
  let closing: Promise<void> | undefined;

  const host = { options: opts, events, trafficFilter: () => traffic };
  const offRules: Unsubscribe = opts.rules
    ? opts.rules.subscribe((rules: TrafficRules) => {
        traffic = new TrafficFilter(rules);
        for (const cache of caches.values()) cache.rulesChanged();
      })
    : () => {};

  function assertOpen(): void {
    if (closed) throw new SwitchyardError('CLOSED', `[${PKG}] client is closed`);
  }

  /** Validates a resolve/watch call: strict options, a real AbortSignal, a valid filter. */
  function checkArgs(service: string, options: ClientResolveOptions | undefined): ClientResolveOptions {
    const o = parseOptions(PKG, options, RESOLVE_SCHEMA);
    assertServiceName(PKG, 'service', service);
    validateFilter(PKG, o.filter, ['where']);
    if (o.filter?.where !== undefined && typeof o.filter.where !== 'function') {
      throw invalidArgument(PKG, 'filter.where', 'must be a function');
    }
    return o;
  }

  function cacheFor(service: string): ServiceCache {
    let cache = caches.get(service);
    if (!cache) {
      cache = new ServiceCache(service, host);
      caches.set(service, cache);
    }
    return cache;
  }

  /** Before the first sync, and while the watch keeps failing: one direct read, not cached. */
  async function directRead(
    service: string,
    filter: ClientInstanceFilter | undefined,
    signal: AbortSignal | undefined,
  ): Promise<ClientSnapshot> {
    const deadline = deadlineSignal(opts.requestTimeout, {
      parent: signal,
      clock,
      what: `resolve ${service}`,
    });
    try {
      const snap = await raceSignal(
        backend.resolve(service, { filter: ALL_HEALTH, signal: deadline.signal }),
        deadline.signal,
        PKG,
        `resolve ${service}`,
      );
      const visible = traffic.apply(sortInstances([...snap.instances]));
      const view = computeView(visible, filter, opts.panicThreshold);
      const state = {
        service,
        version: 0,
        backendRevision: snap.revision,
        stale: false,
        visible,
        panicThreshold: opts.panicThreshold,
      };
      return toSnapshot(state, view);
    } catch (error) {
      if (signal?.aborted) throw error;
      throw backendUnavailable(PKG, `resolve ${service}`, error);
    } finally {
      deadline.dispose();
    }
  }

  const client: DiscoveryClient = {
    name: `client(${backend.name})`,
    get capabilities() {
      return backend.capabilities;
    },
    backend,

    async resolve(service: string, resolveOptions: ClientResolveOptions = {}): Promise<ClientSnapshot> {
      assertOpen();
      const { filter, signal } = checkArgs(service, resolveOptions);
      throwIfAborted(PKG, signal, 'resolve');
      const cache = cacheFor(service);
      if (!cache.synced) {
        const wait = deadlineSignal(opts.syncTimeout, {
          parent: signal,
          clock,
          what: `first sync of ${service}`,
        });
        try {
          const outcome = await cache.waitForSync(wait.signal);
          assertOpen();
          if (outcome === 'failed') return await directRead(service, filter, signal);
        } finally {
          wait.dispose();
        }
      }
      if (filter === undefined) return cache.defaultSnapshot();
      return toSnapshot(cache, computeView(cache.visible, filter, opts.panicThreshold));
    },

    watch(service: string, watchOptions: ClientResolveOptions = {}): AsyncIterable<ClientDiscoveryEvent> {
      assertOpen();
      const { filter, signal } = checkArgs(service, watchOptions);
      return cacheFor(service).subscribe(filter, signal).channel;
    },

    async register(
      instance: InstanceInput,
      registerOptions: ClientRegisterOptions = {},
    ): Promise<ClientRegistrationContract> {
      assertOpen();
      const reg: ClientRegistration = await ClientRegistration.create(
        backend,
        clock,
        instance,
        registerOptions,
        () => registrations.delete(reg),
      );
      if (closed) {
        await reg.close();
        throw new SwitchyardError('CLOSED', `[${PKG}] client is closed`);
      }
      registrations.add(reg);
      return reg;
    },

    services(servicesOptions) {
      assertOpen();
      return backend.services(servicesOptions);
    },

    status(service: string): ServiceStatus {
      assertServiceName(PKG, 'service', service);
      const cache = caches.get(service);
      if (cache) return cache.status();
      return {
        service,
        state: 'idle',
        version: 0,
        backendRevision: 0,
        lastHeardAt: undefined,
        staleSince: undefined,
        lastError: undefined,
        instances: 0,
        subscribers: 0,
        watchesOpened: 0,
        resyncs: 0,
        resyncsWithChanges: 0,
        missedChanges: 0,
        resyncFailures: 0,
        revisionRegressions: 0,
        panic: false,
      };
    },

    async resync(service: string, resyncOptions: { signal?: AbortSignal } = {}): Promise<InstanceDiff> {
      assertOpen();
      assertServiceName(PKG, 'service', service);
      const cache = caches.get(service);
      if (!cache) throw new SwitchyardError('NOT_FOUND', `[${PKG}] ${service} is not cached`);
      return cache.resync(resyncOptions.signal);
    },

    on(event, listener) {
      return events.on(event, listener);
    },

    close(): Promise<void> {
      closing ??= (async () => {
        closed = true;
        offRules();
        for (const cache of caches.values()) cache.close();
        caches.clear();
        const results = await Promise.allSettled([...registrations].map((r) => r.close()));
        registrations.clear();
        events.removeAll();
        const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
        if (failed) throw backendUnavailable(PKG, 'deregistration on close', failed.reason);
      })();
      return closing;
    },

    async [Symbol.asyncDispose](): Promise<void> {
      await client.close();
    },
  };
  return client;
}

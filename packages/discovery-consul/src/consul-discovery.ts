import {
  assertDuration,
  assertServiceName,
  type DiscoveryBackend,
  type DiscoveryCapabilities,
  type DiscoveryEvent,
  fullJitterBackoff,
  type InstanceFilter,
  type InstanceInput,
  invalidArgument,
  isSwitchyardError,
  matchesFilter,
  normalizeInstance,
  type RegisterOptions,
  type ServiceSnapshot,
  SingleFlight,
  SwitchyardError,
  sortInstances,
  throwIfAborted,
  validateFilter,
} from '@switchyard/core';
import Consul from 'consul';
import { type ConsulClient, consulCall, type HttpResponseLike } from './consul-call.js';
import { ConsulRegistration } from './consul-registration.js';
import { type CheckSpec, fromHealthEntry, type HealthEntry } from './instance-codec.js';
import { type ConsulDiscoveryOptions, PKG, resolveOptions } from './options.js';
import { ServiceWatcher } from './service-watcher.js';

export interface ConsulRegisterOptions extends RegisterOptions {
  /** Extra HTTP/TCP checks the agent runs besides the heartbeat TTL check. */
  checks?: readonly CheckSpec[];
  /** Overrides the backend's `deregisterCriticalServiceAfter` for this instance (ms, 0 = never). */
  deregisterCriticalServiceAfter?: number;
}

export interface ConsulDiscovery extends DiscoveryBackend {
  /** The `consul` client in use (yours if you passed one). */
  readonly client: ConsulClient;
  register(instance: InstanceInput, options?: ConsulRegisterOptions): Promise<ConsulRegistration>;
  /** Number of blocking-query loops running (one per watched service, however many watchers). */
  readonly activeWatches: number;
}

const CAPABILITIES: DiscoveryCapabilities = Object.freeze({
  watch: true,
  ttlGranularity: 'seconds',
  healthUpdates: true,
  register: true,
});

/**
 * Service discovery on Consul: registration on the local agent with a TTL check driven by the
 * returned handle, and watches built on blocking `/v1/health/service` queries, one per service.
 */
export function createConsulDiscovery(options: ConsulDiscoveryOptions = {}): ConsulDiscovery {
  const o = resolveOptions(options);
  const ownClient = options.client === undefined;
  const client: ConsulClient =
    options.client ??
    new Consul({
      host: options.host,
      port: options.port,
      secure: options.secure ?? options.tls !== undefined,
      ...(options.agent ? { agent: options.agent as never } : {}),
      ...(options.defaults ? { defaults: options.defaults } : {}),
      ...options.tls,
    } as ConstructorParameters<typeof Consul>[0]);
  const backoff = fullJitterBackoff(o.backoff);
  const registrations = new Set<ConsulRegistration>();
  const watchers = new Map<string, ServiceWatcher>();
  const resolves = new SingleFlight<string, ServiceSnapshot>();
  let closed = false;

  const assertOpen = () => {
    if (closed) throw new SwitchyardError('CLOSED', `[${PKG}] client is closed`);
  };

  function validateChecks(checks: unknown): readonly CheckSpec[] {
    if (checks === undefined) return [];
    if (!Array.isArray(checks)) throw invalidArgument(PKG, 'checks', 'must be an array');
    return checks.map((c: CheckSpec, i) => {
      const f = `checks[${i}]`;
      if (typeof c !== 'object' || c === null) throw invalidArgument(PKG, f, 'must be an object');
      if ((c.http === undefined) === (c.tcp === undefined))
        throw invalidArgument(PKG, f, 'needs exactly one of http or tcp');
      if (c.http !== undefined && !/^https?:\/\/\S+$/.test(String(c.http)))
        throw invalidArgument(PKG, `${f}.http`, 'must be an http(s) URL');
      if (c.tcp !== undefined && !/^\S+:\d{1,5}$/.test(String(c.tcp)))
        throw invalidArgument(PKG, `${f}.tcp`, 'must be host:port');
      assertDuration(PKG, `${f}.interval`, c.interval, { min: 1 });
      if (c.timeout !== undefined) assertDuration(PKG, `${f}.timeout`, c.timeout);
      if (c.deregisterCriticalServiceAfter !== undefined)
        assertDuration(PKG, `${f}.deregisterCriticalServiceAfter`, c.deregisterCriticalServiceAfter);
      return c;
    });
  }

  async function query(
    service: string,
    filter: InstanceFilter | undefined,
    signal?: AbortSignal,
  ): Promise<ServiceSnapshot> {
    const health = filter?.health ?? ['passing'];
    const onlyPassing = health.length === 1 && health[0] === 'passing';
    const [res, body] = await consulCall(
      'resolve',
      signal,
      (ctx) =>
        client.health.service({
          service,
          ...(onlyPassing ? { passing: true } : {}),
          ...(filter?.tags?.length ? { tag: [...filter.tags] } : {}),
          ...(o.stale ? { stale: true } : {}),
          ...(o.datacenter ? { dc: o.datacenter } : {}),
          token: o.token,
          ctx,
          timeout: o.requestTimeout,
        } as never) as unknown as Promise<[HttpResponseLike, HealthEntry[]]>,
      { includeResponse: true },
    );
    const instances = sortInstances(
      (body ?? [])
        .map((e) => fromHealthEntry(e, o.metaKeys, o.prefixServiceId))
        .filter((i) => i !== undefined && i.service === service && matchesFilter(i, filter)) as never[],
    );
    return { service, instances, revision: Math.max(1, Number(res.headers['x-consul-index']) || 1) };
  }

  function watcherFor(service: string): ServiceWatcher {
    const existing = watchers.get(service);
    if (existing && !existing.stopped) return existing;
    const w: ServiceWatcher = new ServiceWatcher(service, {
      client,
      options: o,
      backoff,
      onIdle: () => {
        if (watchers.get(service) === w) watchers.delete(service);
      },
    });
    watchers.set(service, w);
    return w;
  }

  const backend: ConsulDiscovery = {
    name: 'consul',
    capabilities: CAPABILITIES,
    client,
    get activeWatches() {
      return [...watchers.values()].filter((w) => !w.stopped).length;
    },

    async register(input: InstanceInput, opts: ConsulRegisterOptions = {}): Promise<ConsulRegistration> {
      assertOpen();
      const instance = normalizeInstance(PKG, input);
      const ttl = assertDuration(PKG, 'ttl', opts.ttl ?? o.ttl, { min: 1000 });
      const checks = validateChecks(opts.checks);
      const deregisterAfter =
        opts.deregisterCriticalServiceAfter === undefined
          ? o.deregisterCriticalServiceAfter
          : assertDuration(PKG, 'deregisterCriticalServiceAfter', opts.deregisterCriticalServiceAfter, {
              allowZero: true,
            });
      throwIfAborted(PKG, opts.signal, 'register');
      const reg: ConsulRegistration = new ConsulRegistration({
        client,
        options: o,
        instance,
        ttl,
        heartbeatInterval: Math.min(o.heartbeatInterval ?? ttl / 3, ttl / 2),
        deregisterAfter,
        checks,
        backoff,
        onClose: () => registrations.delete(reg),
      });
      try {
        await reg.start(opts.signal);
      } catch (error) {
        // Aborted or timed out mid-flight: the agent may have registered it anyway. Best effort
        // cleanup so no orphan lingers until DeregisterCriticalServiceAfter.
        if (isSwitchyardError(error, 'ABORTED', 'TIMEOUT', 'BACKEND_UNAVAILABLE'))
          reg.close().catch(() => {});
        throw error;
      }
      registrations.add(reg);
      return reg;
    },

    async resolve(service, opts = {}) {
      assertOpen();
      assertServiceName(PKG, 'service', service);
      validateFilter(PKG, opts.filter);
      throwIfAborted(PKG, opts.signal, 'resolve');
      // A running watch keeps this service's full instance list in memory: serve from it.
      const watcher = watchers.get(service);
      const cached = watcher?.current;
      if (watcher && cached)
        return { service, revision: cached.revision, instances: watcher.view(opts.filter) };
      const key = `${service}\u0000${JSON.stringify(opts.filter ?? null)}`;
      if (opts.signal) return query(service, opts.filter, opts.signal);
      return resolves.do(key, () => query(service, opts.filter));
    },

    watch(service, opts = {}): AsyncIterable<DiscoveryEvent> {
      assertOpen();
      assertServiceName(PKG, 'service', service);
      validateFilter(PKG, opts.filter);
      return watcherFor(service).subscribe(opts.filter, opts.signal);
    },

    async services(opts = {}) {
      assertOpen();
      const result = await consulCall('services', opts.signal, (ctx) =>
        client.catalog.service.list({
          ...(o.stale ? { stale: true } : {}),
          ...(o.datacenter ? { dc: o.datacenter } : {}),
          token: o.token,
          ctx,
          timeout: o.requestTimeout,
        } as never),
      );
      return Object.keys((result ?? {}) as Record<string, unknown>).sort();
    },

    async close() {
      if (closed) return;
      closed = true;
      for (const w of watchers.values()) w.stop();
      watchers.clear();
      await Promise.allSettled([...registrations].map((r) => r.close()));
      registrations.clear();
      if (ownClient) client.destroy();
    },

    async [Symbol.asyncDispose]() {
      await backend.close();
    },
  };
  return backend;
}

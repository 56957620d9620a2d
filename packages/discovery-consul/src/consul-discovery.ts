import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import type { DiscoveryCapabilities, InstanceInput, RegisterOptions } from '@switchyard/core';
import {
  defineDiscoveryBackend,
  type KitDiscoveryBackend,
  type ManagedRegistration,
} from '@switchyard/core/driver';
import Consul from 'consul';
import { type CheckSpec, type ConsulRegisterExtra, REGISTER_OPTIONS } from './check-spec.js';
import { type ConsulClient, consulCall } from './consul-call.js';
import { type ConsulRecord, consulRegistration } from './consul-registration.js';
import { HealthQuery } from './health-query.js';
import { type ConsulDiscoveryOptions, PKG, resolveOptions } from './options.js';

export interface ConsulRegisterOptions extends RegisterOptions {
  /** Extra HTTP/TCP checks the agent runs besides the heartbeat TTL check. */
  checks?: readonly CheckSpec[];
  /** Overrides the backend's `deregisterCriticalServiceAfter` for this instance (ms: 0 = never, or ≥ 60 000). */
  deregisterCriticalServiceAfter?: number;
}

export interface ConsulDiscovery extends KitDiscoveryBackend<ConsulRecord, ConsulRegisterExtra> {
  /** The `consul` client in use (yours if you passed one). */
  readonly client: ConsulClient;
  /** Registers on the local agent; `registration.handle` has Consul's `serviceId` and `checkId`. */
  register(
    instance: InstanceInput,
    options?: ConsulRegisterOptions,
  ): Promise<ManagedRegistration<ConsulRecord, ConsulRegisterExtra>>;
}

const CAPABILITIES: DiscoveryCapabilities = Object.freeze({
  watch: true,
  ttlGranularity: 'seconds',
  healthUpdates: true,
  register: true,
});

/**
 * Service discovery on Consul, on core's driver kit: registration on the local agent with a TTL
 * check the kit keeps passing, `resolve` as one health query, and watches built on blocking
 * `/v1/health/service` queries, one per service however many watchers.
 */
export function createConsulDiscovery(options: ConsulDiscoveryOptions = {}): ConsulDiscovery {
  const o = resolveOptions(options);
  const owned = o.client === undefined;
  const client: ConsulClient = o.client ?? createClient(o);
  const reads = new HealthQuery(client, o);

  const backend = defineDiscoveryBackend<ConsulRecord, ConsulRegisterExtra>(
    {
      name: 'consul',
      capabilities: CAPABILITIES,
      registration: consulRegistration(client, o),
      registerOptions: REGISTER_OPTIONS,
      list: (service, signal) => reads.list(service, signal),
      watch: (service, from, signal) => reads.watch(service, from, signal),
      // A broken long poll relists (one non-blocking query) rather than resuming on an index that
      // may be from before an agent restart: Consul would hold that query for a whole `wait`.
      resumable: false,
      async services(signal) {
        const result = await consulCall('services', signal, (ctx) =>
          client.catalog.service.list({
            ...(o.stale ? { stale: true } : {}),
            ...(o.datacenter ? { dc: o.datacenter } : {}),
            token: o.token,
            ctx,
          } as never),
        );
        return Object.keys((result ?? {}) as Record<string, unknown>);
      },
      async close() {
        if (owned) client.destroy();
      },
    },
    {
      pkg: PKG,
      clock: o.clock,
      backoff: o.backoff,
      requestTimeout: o.requestTimeout,
      ttl: o.ttl,
      minTtl: 1000,
      ...(o.heartbeatInterval === undefined ? {} : { heartbeatInterval: o.heartbeatInterval }),
      onListenerError: o.onListenerError,
    },
  );
  return Object.assign(backend, { client }) as ConsulDiscovery;
}

/** Connections our client may open besides the blocking queries (lists, registrations, heartbeats). */
const OTHER_CONNECTIONS = 32;

function createClient(o: ReturnType<typeof resolveOptions>): ConsulClient {
  const base = o.url ? new URL(o.url) : undefined;
  const secure = base ? base.protocol === 'https:' : (o.secure ?? o.tls !== undefined);
  // Keep-alive, and a hard cap on sockets: Consul refuses a client IP's connections past
  // http_max_conns_per_client (200), so a burst (closing 300 registrations) queues instead.
  const Agent = secure ? HttpsAgent : HttpAgent;
  const agent =
    o.agent ?? new Agent({ keepAlive: true, maxSockets: o.maxBlockingQueries + OTHER_CONNECTIONS });
  return new Consul({
    ...(base
      ? { baseUrl: `${base.protocol}//${base.host}${base.pathname.replace(/\/+$/, '')}/v1` }
      : { host: o.host, port: o.port, secure }),
    agent: agent as never,
    ...(o.defaults ? { defaults: o.defaults } : {}),
    ...o.tls,
  } as ConstructorParameters<typeof Consul>[0]);
}

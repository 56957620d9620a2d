import type { ConnectionOptions } from 'node:tls';
import {
  assertDuration,
  assertInteger,
  assertNonEmptyString,
  assertPort,
  type BackoffOptions,
  type Clock,
  describeValue,
  invalidArgument,
  systemClock,
} from '@switchyard/core';
import type { ConsulClient } from './consul-call.js';

export const PKG = 'discovery-consul';

/** Where the zone, region and a non-integer weight live in a Consul service's `Meta`. */
export interface MetaKeys {
  zone: string;
  region: string;
  weight: string;
}

export interface ConsulDiscoveryOptions {
  /** An existing `consul` client. It is not destroyed by `close()`. */
  client?: ConsulClient;
  /** Agent address when no `client` is given (default 127.0.0.1:8500). Environment variables are not read. */
  host?: string;
  port?: number;
  /** HTTPS to the agent (default false). TLS details go through `agent` (an `https.Agent` with ca/cert/key). */
  secure?: boolean;
  /** An `http.Agent`/`https.Agent` for the client we create (keep-alive tuning, TLS session reuse). */
  agent?: unknown;
  /** TLS options for the client we create (`ca`, `cert`, `key`, `servername`, `rejectUnauthorized`…), sent with every request. */
  tls?: Pick<
    ConnectionOptions,
    'ca' | 'cert' | 'key' | 'passphrase' | 'pfx' | 'servername' | 'rejectUnauthorized' | 'ciphers' | 'crl'
  >;
  /** `defaults` of the `consul` client we create (applied to every call it makes, e.g. `{ consistent: true }`). */
  defaults?: Record<string, unknown>;
  /** ACL token sent with every request (`X-Consul-Token`). */
  token?: string;
  /** Datacenter for health and catalog reads (default: the agent's own). */
  datacenter?: string;
  /** Default TTL of the heartbeat check, ms (default 15 000, at least 1 000: Consul's TTLs are seconds-granular in practice). */
  ttl?: number;
  /** Heartbeat period, ms (default ttl / 3). */
  heartbeatInterval?: number;
  /**
   * `DeregisterCriticalServiceAfter` for the heartbeat check, ms (default 60 000, Consul's minimum;
   * `0` disables it). A crashed process's instance is reaped by the agent after this long.
   */
  deregisterCriticalServiceAfter?: number;
  /** Maximum blocking-query wait, ms (default 60 000, at most 600 000 as Consul caps it). */
  wait?: number;
  /** Timeout for non-blocking requests, and the grace added to a blocking one's wait + wait/16 (default 10 000). */
  requestTimeout?: number;
  /** Allow stale reads from any server (`?stale`): faster, lower server load, may lag the leader. */
  stale?: boolean;
  /**
   * Token bucket over each service's blocking-query loop (Consul's docs ask clients for one): `burst`
   * queries go out back to back, then one per `interval` ms (default burst 10, interval 100).
   * For large fleets with churny services Consul suggests something like `{ burst: 2, interval: 15_000 }`.
   */
  rateLimit?: { burst?: number; interval?: number };
  /** Backoff after failed queries/heartbeats (full jitter; default base 200 ms, max 30 s). */
  backoff?: BackoffOptions;
  /** Meta keys used for zone/region/weight (default `zone`, `region`, `weight`). */
  metaKeys?: Partial<MetaKeys>;
  /** Prefix Consul service IDs with the service name (`<service>:<id>`) so ids need only be unique per service (default true). */
  prefixServiceId?: boolean;
  clock?: Clock;
}

export interface ResolvedOptions {
  token: string | undefined;
  datacenter: string | undefined;
  ttl: number;
  heartbeatInterval: number | undefined;
  deregisterCriticalServiceAfter: number;
  wait: number;
  requestTimeout: number;
  stale: boolean;
  burst: number;
  interval: number;
  backoff: BackoffOptions;
  metaKeys: MetaKeys;
  prefixServiceId: boolean;
  clock: Clock;
}

export function resolveOptions(o: ConsulDiscoveryOptions): ResolvedOptions {
  if (typeof o !== 'object' || o === null) throw invalidArgument(PKG, 'options', 'must be an object');
  if (
    o.client !== undefined &&
    (typeof o.client !== 'object' || o.client === null || !('health' in o.client))
  )
    throw invalidArgument(PKG, 'client', 'must be a consul client instance');
  if (o.host !== undefined) assertNonEmptyString(PKG, 'host', o.host, 253);
  if (o.port !== undefined) assertPort(PKG, 'port', o.port);
  if (o.secure !== undefined) assertBoolean(PKG, 'secure', o.secure);
  if (o.tls !== undefined && (typeof o.tls !== 'object' || o.tls === null))
    throw invalidArgument(PKG, 'tls', 'must be an object of TLS options');
  if (o.defaults !== undefined && (typeof o.defaults !== 'object' || o.defaults === null))
    throw invalidArgument(PKG, 'defaults', 'must be an object');
  if (o.client !== undefined && (o.host !== undefined || o.port !== undefined || o.tls !== undefined))
    throw invalidArgument(
      PKG,
      'client',
      'cannot be combined with host/port/tls (configure the client instead)',
    );
  if (o.token !== undefined) assertNonEmptyString(PKG, 'token', o.token);
  if (o.datacenter !== undefined) assertNonEmptyString(PKG, 'datacenter', o.datacenter, 253);
  const ttl = assertDuration(PKG, 'ttl', o.ttl ?? 15_000, { min: 1000 });
  const deregister = assertDuration(
    PKG,
    'deregisterCriticalServiceAfter',
    o.deregisterCriticalServiceAfter ?? 60_000,
    {
      allowZero: true,
    },
  );
  const keys: MetaKeys = { zone: 'zone', region: 'region', weight: 'weight', ...o.metaKeys };
  for (const [k, v] of Object.entries(keys)) {
    if (typeof v !== 'string' || !META_KEY.test(v))
      throw invalidArgument(PKG, `metaKeys.${k}`, `must match ${META_KEY}`);
  }
  return {
    token: o.token,
    datacenter: o.datacenter,
    ttl,
    heartbeatInterval:
      o.heartbeatInterval === undefined
        ? undefined
        : assertDuration(PKG, 'heartbeatInterval', o.heartbeatInterval),
    deregisterCriticalServiceAfter: deregister,
    wait: assertDuration(PKG, 'wait', o.wait ?? 60_000, { min: 1, max: 600_000 }),
    requestTimeout: assertDuration(PKG, 'requestTimeout', o.requestTimeout ?? 10_000),
    stale: o.stale === undefined ? false : assertBoolean(PKG, 'stale', o.stale),
    burst: assertInteger(PKG, 'rateLimit.burst', o.rateLimit?.burst ?? 10, 1, 1_000),
    interval: assertDuration(PKG, 'rateLimit.interval', o.rateLimit?.interval ?? 100, { allowZero: true }),
    backoff: { base: 200, max: 30_000, ...o.backoff },
    metaKeys: keys,
    prefixServiceId:
      o.prefixServiceId === undefined ? true : assertBoolean(PKG, 'prefixServiceId', o.prefixServiceId),
    clock: o.clock ?? systemClock,
  };
}

/** Consul's rule for Meta keys. */
export const META_KEY = /^[A-Za-z0-9_-]{1,128}$/;

function assertBoolean(pkg: string, field: string, value: unknown): boolean {
  if (typeof value !== 'boolean')
    throw invalidArgument(pkg, field, `must be a boolean, got ${describeValue(value)}`);
  return value;
}

import type { ConnectionOptions } from 'node:tls';
import { assertAddress, type Clock, invalidArgument, systemClock } from '@switchyard/core';
import {
  DEFAULT_REQUEST_TIMEOUT,
  DEFAULT_TTL,
  exclusiveOptions,
  opt,
  parseOptions,
} from '@switchyard/core/driver';
import type { ConsulClient } from './consul-call.js';

export const PKG = 'discovery-consul';

/** Consul's rule for Meta keys (agent/structs). */
export const META_KEY = /^[A-Za-z0-9_-]{1,128}$/;

/** Consul's smallest `DeregisterCriticalServiceAfter` (the agent raises anything lower to it). */
export const MIN_DEREGISTER_AFTER = 60_000;

/** Where the zone, region and a non-integer weight live in a Consul service's `Meta`. */
export interface MetaKeys {
  zone: string;
  region: string;
  weight: string;
}

export interface ConsulDiscoveryOptions {
  /** An existing `consul` client. It is not destroyed by `close()`. */
  client?: ConsulClient;
  /** Agent URL for the client we create (`http://127.0.0.1:8500`, `https://…`); or `host`/`port`. */
  url?: string;
  /** Agent host for the client we create (default 127.0.0.1). Environment variables are not read. */
  host?: string;
  port?: number;
  /** HTTPS to the agent (default false; implied by `tls` and an `https:` url). */
  secure?: boolean;
  /** An `http.Agent`/`https.Agent` for the client we create (keep-alive tuning, TLS session reuse). */
  agent?: unknown;
  /** TLS options for the client we create (`ca`, `cert`, `key`, `servername`, `rejectUnauthorized`…). */
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
  /** Default TTL of the heartbeat check, ms (default 10 000, at least 1 000). */
  ttl?: number;
  /** Heartbeat period, ms (default ttl / 3, at most ttl / 2). */
  heartbeatInterval?: number;
  /** `DeregisterCriticalServiceAfter` of the heartbeat check, ms: 0 (never) or ≥ 60 000 (default 60 000). */
  deregisterCriticalServiceAfter?: number;
  /** Blocking-query `wait`, ms (default 60 000, at most 600 000 as Consul caps it). */
  wait?: number;
  /** Deadline of one non-blocking call, ms (default 5 000); a blocking one gets wait + wait/16 + this. */
  requestTimeout?: number;
  /** Allow stale reads from any server (`?stale`): faster, lower server load, may lag the leader. */
  stale?: boolean;
  /** Token bucket over each watched service's query loop (default burst 10, then one per 100 ms). */
  rateLimit?: { burst?: number; interval?: number };
  /**
   * Blocking queries (and watch relists) in flight at once, each holding one connection to the agent
   * (default 100; Consul's `http_max_conns_per_client` allows 200 per client IP). Watches past it
   * take turns with shorter waits.
   */
  maxBlockingQueries?: number;
  /** Delays between watch reconnects and heartbeat retries (full jitter; default base 200 ms, max 5 s). */
  backoff?: { base?: number; max?: number; factor?: number };
  /** Meta keys used for zone/region/weight (default `zone`, `region`, `weight`). */
  metaKeys?: Partial<MetaKeys>;
  /** Consul service ID `<service>:<id>` so ids need only be unique per service (default true). */
  prefixServiceId?: boolean;
  clock?: Clock;
  /** Where a throwing registration-event listener's error goes (default: a process warning). */
  onListenerError?: (error: unknown, event: string) => void;
}

const isClient = (v: unknown): boolean =>
  typeof v === 'object' && v !== null && 'health' in v && 'agent' in v && 'catalog' in v;

const metaKey = () => opt.string({ pattern: META_KEY, hint: '1-128 characters of [A-Za-z0-9_-]' });

/** 0 (never) or at least Consul's minimum. */
export const deregisterAfterOption = () =>
  opt.duration({ allowZero: true }).refine((v, at) => {
    if (v !== 0 && v < MIN_DEREGISTER_AFTER) {
      throw invalidArgument(
        at.pkg,
        at.field,
        `must be 0 (never) or at least ${MIN_DEREGISTER_AFTER} ms (Consul's minimum), got ${v}`,
      );
    }
  });

const SCHEMA = {
  client: opt.instance<ConsulClient>(isClient, 'a consul client instance'),
  url: opt.url(['http:', 'https:']),
  host: opt.custom((v, at) => assertAddress(at.pkg, at.field, v)),
  port: opt.integer(1, 65_535),
  secure: opt.boolean(),
  agent: opt.instance<object>((v) => typeof v === 'object' && v !== null, 'an http.Agent or https.Agent'),
  tls: opt.bag<NonNullable<ConsulDiscoveryOptions['tls']>>(),
  defaults: opt.bag<Record<string, unknown>>(),
  token: opt.string({ maxLength: 512 }),
  datacenter: opt.string({ maxLength: 253 }),
  ttl: opt.duration({ min: 1000 }).default(DEFAULT_TTL.registration),
  heartbeatInterval: opt.duration({ min: 10 }),
  deregisterCriticalServiceAfter: deregisterAfterOption().default(MIN_DEREGISTER_AFTER),
  wait: opt.duration({ min: 1, max: 600_000 }).default(60_000),
  requestTimeout: opt.duration().default(DEFAULT_REQUEST_TIMEOUT),
  stale: opt.boolean().default(false),
  rateLimit: opt
    .object({
      burst: opt.integer(1, 1_000).default(10),
      interval: opt.duration({ allowZero: true }).default(100),
    })
    .default({ burst: 10, interval: 100 }),
  maxBlockingQueries: opt.integer(1, 10_000).default(100),
  backoff: opt.backoff({ base: 200, max: 5_000 }),
  metaKeys: opt
    .object({
      zone: metaKey().default('zone'),
      region: metaKey().default('region'),
      weight: metaKey().default('weight'),
    })
    .default({ zone: 'zone', region: 'region', weight: 'weight' }),
  prefixServiceId: opt.boolean().default(true),
  clock: opt.clock().default(systemClock),
  onListenerError: opt.func<(error: unknown, event: string) => void>(),
};

export type ResolvedOptions = ReturnType<typeof resolveOptions>;

/** Checks every option at construction (unknown keys, types, the connection options' exclusions). */
export function resolveOptions(options: ConsulDiscoveryOptions) {
  const o = parseOptions(PKG, options, SCHEMA);
  exclusiveOptions(PKG, o, ['client', 'url']);
  const own = ['host', 'port', 'secure', 'agent', 'tls', 'defaults'] as const;
  if (o.client !== undefined) {
    const given = own.find((k) => o[k] !== undefined);
    if (given) {
      throw invalidArgument(
        PKG,
        given,
        'applies only to the client we create (configure your client instead)',
      );
    }
  }
  if (o.url !== undefined) {
    const given = (['host', 'port', 'secure'] as const).find((k) => o[k] !== undefined);
    if (given) throw invalidArgument(PKG, given, 'must not be given together with url');
  }
  return o;
}

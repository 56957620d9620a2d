import type { Cache } from '@switchyard/cache';

import type { ConfigAdmin } from '@switchyard/config-center';
import { type DiscoveryBackend, invalidArgument, type TrafficRules } from '@switchyard/core';
import { opt, parseOptions } from '@switchyard/core/driver';
import type { RouteStore } from '@switchyard/stateful-route';
import type { ConsoleModule } from './console-module.js';
import type { AdminLock } from './modules/locks-module.js';
import { isRoutesOption, type RoutesPageOptions } from './modules/routes/routes-options.js';

export const PKG = 'console';

/** A rules source the console can change (core's `createMemoryRulesSource()` is one). */
export interface WritableRulesSource {
  current(): TrafficRules;
  /** Replaces the rules; a promise (a rules document published to a config store) is awaited. */
  set(rules: TrafficRules): void | Promise<void>;
}

export interface ConsoleServerOptions {
  /** TCP port (default 0: a free one; the CLI uses 7420). */
  port?: number;
  /** Interface to bind (default `127.0.0.1`: loopback only). */
  host?: string;
  /** Refuse every mutation with 403, audited (default true). */
  readOnly?: boolean;
  /**
   * The token to log in with (at least 16 characters). Omitted: one is generated at start and
   * returned as `server.token` (print it once, like Jupyter). `false`: no login (loopback only).
   */
  token?: string | false;
  /** Services page: the discovery backend (or client) whose services are shown. */
  discovery?: DiscoveryBackend;
  /** Services page: pull-out / pull-in actions change these rules (the discovery client's source). */
  rules?: WritableRulesSource;
  /**
   * Routes page (@switchyard/stateful-route): a `RouteStore` (read: pods, leases, link counts, uid
   * lookup), or `{ store, servers }` with the `RouteServer`s of pods in this process, which the page
   * can drain / activate (a pod's routing state is its own publication; see the README).
   */
  routes?: RouteStore | RoutesPageOptions;
  /**
   * Locks page: a lock client with the operator API (`createRedisLock`, `createEtcdLock`,
   * `createMemoryLock`…), or several named lock spaces (`{ orders: redisLock, jobs: etcdSemaphore }`).
   * Stats (rates, wait percentiles) are this client's: pass the application's own instance to see them.
   */
  locks?: AdminLock | Readonly<Record<string, AdminLock>>;
  /** Cache page: a `@switchyard/cache` cache (`createCache`); its stats are this process' counters. */
  cache?: Cache;
  /** Config page: a `ConfigAdmin` of @switchyard/config-center (`createConfigAdmin`). */
  config?: ConfigAdmin;
  /** Extra pages (a module per page, see `ConsoleModule`). */
  modules?: readonly ConsoleModule[];
}

function isAdminLock(v: unknown): v is AdminLock {
  const l = v as AdminLock | null;
  return (
    typeof l?.list === 'function' &&
    typeof l.inspect === 'function' &&
    typeof l.forceRelease === 'function' &&
    typeof l.stats === 'function'
  );
}

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

const schema = {
  port: opt.integer(0, 65535).default(0),
  host: opt.string({ maxLength: 255 }).default('127.0.0.1'),
  readOnly: opt.boolean().default(true),
  token: opt.custom<string | false>((v, at) => {
    if (v === false) return false;
    if (typeof v !== 'string' || v.length < 16 || /\s/.test(v)) {
      throw invalidArgument(
        at.pkg,
        at.field,
        'must be a string of at least 16 characters without spaces, or false',
      );
    }
    return v;
  }),
  discovery: opt.instance<DiscoveryBackend>(
    (v) =>
      typeof (v as DiscoveryBackend | null)?.resolve === 'function' &&
      typeof (v as DiscoveryBackend).watch === 'function' &&
      typeof (v as DiscoveryBackend).services === 'function',
    'a DiscoveryBackend (resolve, watch, services)',
  ),
  rules: opt.instance<WritableRulesSource>(
    (v) =>
      typeof (v as WritableRulesSource | null)?.current === 'function' &&
      typeof (v as WritableRulesSource).set === 'function',
    'a writable rules source (current, set), e.g. createMemoryRulesSource()',
  ),
  routes: opt.instance<RouteStore | RoutesPageOptions>(
    isRoutesOption,
    "a RouteStore (listPods, getLinks, services, onChange; a RouteClient's .store) or { store, servers?: RouteServer[] }",
  ),
  locks: opt.custom<Readonly<Record<string, AdminLock>>>((v, at) => {
    if (isAdminLock(v)) return { default: v };
    const entries = v !== null && typeof v === 'object' ? Object.entries(v) : [];
    if (
      entries.length === 0 ||
      entries.some(([name, l]) => !/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/.test(name) || !isAdminLock(l))
    ) {
      throw invalidArgument(
        at.pkg,
        at.field,
        'must be a lock with the operator API (list, inspect, forceRelease, stats), or a record of named ones',
      );
    }
    return Object.fromEntries(entries) as Record<string, AdminLock>;
  }),
  cache: opt.instance<Cache>(
    (v) =>
      typeof (v as Cache | null)?.stats === 'function' &&
      typeof (v as Cache).deleteByTag === 'function' &&
      typeof (v as Cache).namespace === 'function',
    'a @switchyard/cache Cache (stats, deleteByTag, namespace), e.g. createCache()',
  ),
  config: opt.instance<ConfigAdmin>(
    (v) =>
      ['get', 'gray', 'namespaces', 'history', 'diff', 'diffEnvironments', 'preview', 'publish', 'rollback']
        .concat(['startGray', 'promoteGray', 'abortGray', 'audit'])
        .every((m) => typeof (v as Record<string, unknown> | null)?.[m] === 'function'),
    'a ConfigAdmin of @switchyard/config-center (createConfigAdmin)',
  ),
  modules: opt
    .array(
      opt.custom((v, at) => {
        const m = v as ConsoleModule | null;
        if (typeof m?.name !== 'string' || !/^[a-z][a-z0-9-]*$/.test(m.name) || !Array.isArray(m.routes)) {
          throw invalidArgument(at.pkg, at.field, 'must be a ConsoleModule (name, title, routes)');
        }
        return m;
      }),
    )
    .default([]),
};

export type ParsedConsoleOptions = ReturnType<typeof parseConsoleOptions>;

export function parseConsoleOptions(options: ConsoleServerOptions) {
  const o = parseOptions(PKG, options, schema);
  if (o.rules && !o.discovery) throw invalidArgument(PKG, 'rules', 'needs discovery (the services page)');
  if (o.token === false && !LOOPBACK.has(o.host)) {
    throw invalidArgument(PKG, 'token', `may be false only on a loopback host, not ${o.host}`);
  }
  return o;
}

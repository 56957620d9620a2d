import type { Unsubscribe } from '@switchyard/core';
import { closedError } from '@switchyard/core';
import { type GatewayRoutes, PKG, parseRoutes } from './route-config.js';

/**
 * Where the gateway's routes come from. `current()` is the table in force; `subscribe` hears every
 * later table. Today: in memory and a JSON file with live reload; the config-center source
 * (a namespaced key holding the same JSON) plugs in here once `@switchyard/config-center` lands.
 */
export interface RouteSource extends AsyncDisposable {
  current(): GatewayRoutes;
  subscribe(listener: (routes: GatewayRoutes) => void): Unsubscribe;
  close(): Promise<void>;
}

/** Shared listener bookkeeping for route sources. */
export class RouteBroadcast {
  readonly #listeners = new Set<(routes: GatewayRoutes) => void>();
  #routes: GatewayRoutes;

  constructor(initial: GatewayRoutes) {
    this.#routes = initial;
  }

  get routes(): GatewayRoutes {
    return this.#routes;
  }

  publish(routes: GatewayRoutes): void {
    this.#routes = routes;
    for (const l of [...this.#listeners]) l(routes);
  }

  subscribe(listener: (routes: GatewayRoutes) => void): Unsubscribe {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  clear(): void {
    this.#listeners.clear();
  }
}

export interface MemoryRouteSource extends RouteSource {
  /** Validates and applies a new table (INVALID_ARGUMENT leaves the old one in force). */
  set(routes: unknown): void;
}

/** Routes held in memory; `set` applies a new table live. */
export function createMemoryRouteSource(initial: unknown = { routes: [] }): MemoryRouteSource {
  const broadcast = new RouteBroadcast(parseRoutes(initial));
  let closed = false;
  return {
    current: () => broadcast.routes,
    subscribe: (l) => broadcast.subscribe(l),
    set(routes) {
      if (closed) throw closedError(PKG, 'route source');
      broadcast.publish(parseRoutes(routes));
    },
    async close() {
      closed = true;
      broadcast.clear();
    },
    [Symbol.asyncDispose]() {
      return this.close();
    },
  };
}

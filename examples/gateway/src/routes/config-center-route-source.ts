import type { ConfigCenter, LiveNamespace, StandardSchemaV1 } from '@switchyard/config-center';
import { closedError, isSwitchyardError } from '@switchyard/core';
import { type GatewayRoutes, PKG, parseRoutes } from './route-config.js';
import { RouteBroadcast, type RouteSource } from './route-source.js';

/**
 * The route table as a Standard Schema, for `createConfigAdmin({ namespaces: { gateway: { schema } } })`
 * (a bad release is refused before it is written) and for the gateway's own namespace (a release
 * that still fails keeps the last good table: config-center's `config:rejected`).
 */
export const gatewayRoutesSchema: StandardSchemaV1<unknown, GatewayRoutes> = {
  '~standard': {
    version: 1,
    vendor: 'switchyard-gateway',
    validate(value) {
      try {
        return { value: parseRoutes(value) };
      } catch (error) {
        const field = isSwitchyardError(error) ? error.field : undefined;
        const path = field ? field.split(/[.[\]]+/).filter(Boolean) : [];
        return { issues: [{ message: (error as Error).message, path }] };
      }
    },
  },
};

export interface ConfigCenterRouteSourceOptions {
  /** An open `createConfigCenter(...)`; the caller owns it (the source never closes it). */
  center: ConfigCenter;
  /** The namespace whose items are the route table (`{ routes: [...] }`). Default `gateway`. */
  namespace?: string;
}

export interface ConfigCenterRouteSource extends RouteSource {
  /** The config-center version of the table in force. */
  readonly version: number;
}

/**
 * Routes from a config-center namespace: the item `routes` holds the same array as routes.json.
 * Each release is validated with {@link gatewayRoutesSchema} and applied live; a release that fails
 * is rejected by the center and the previous table stays in force.
 */
export async function createConfigCenterRouteSource(
  options: ConfigCenterRouteSourceOptions,
): Promise<ConfigCenterRouteSource> {
  const name = options.namespace ?? 'gateway';
  const ns: LiveNamespace<GatewayRoutes> = await options.center.namespace(name, {
    schema: gatewayRoutesSchema,
  });
  const broadcast = new RouteBroadcast(ns.value);
  const off = ns.subscribe(({ value }) => broadcast.publish(value));
  let closed = false;
  const source: ConfigCenterRouteSource = {
    get version() {
      return ns.version;
    },
    current: () => broadcast.routes,
    subscribe(listener) {
      if (closed) throw closedError(PKG, 'route source');
      return broadcast.subscribe(listener);
    },
    async close() {
      if (closed) return;
      closed = true;
      off();
      broadcast.clear();
    },
    [Symbol.asyncDispose]: () => source.close(),
  };
  return source;
}

import type { DiagnosticSource } from '@switchyard/core';
import type { RouteClientEvents } from './route-client-types.js';
import type { RouteServerEvents } from './route-server.js';

/**
 * The router's `node:diagnostics_channel` channels (`source: 'stateful-route'`): every client and
 * server event is also published as `switchyard:<event>` (subscribe with core's `subscribeDiagnostic`).
 */
export type RouteDiagnosticsPayloads = {
  [K in keyof RouteClientEvents as `switchyard:${K}`]: RouteClientEvents[K] & DiagnosticSource;
} & {
  [K in keyof RouteServerEvents as `switchyard:${K}`]: RouteServerEvents[K] & DiagnosticSource;
};

declare module '@switchyard/core' {
  interface DiagnosticsPayloads extends RouteDiagnosticsPayloads {}
}

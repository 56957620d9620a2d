export { createMemoryRouteStore, type MemoryRouteStoreOptions } from './memory-route-store.js';
export {
  createRedisRouteStore,
  type RedisRouteStore,
  type RedisRouteStoreOptions,
} from './redis-route-store.js';
export type { RedisClient } from './redis-scripts.js';
export { createRouteClient, RouteClient } from './route-client.js';
export type {
  BatchLinks,
  LinkEvent,
  PodDirectory,
  RouteClientEvents,
  RouteClientOptions,
  RouteClientStats,
} from './route-client-types.js';
export type { RouteDiagnosticsPayloads } from './route-diagnostics.js';
export {
  acceptsNewUsers,
  judgeLink,
  type LinkRecord,
  type LinkVerdict,
  type MoveReason,
  type PickStrategy,
  type PodRecord,
  pickPod,
  placementCost,
  ROUTING_STATES,
  type RoutingState,
} from './route-model.js';
export {
  createRouteServer,
  RouteServer,
  type RouteServerEvents,
  type RouteServerOptions,
} from './route-server.js';
export type {
  ClaimRequest,
  ClaimResult,
  JudgedLink,
  PodListing,
  PodPublication,
  RouteStore,
  SetLinkMode,
  SetLinkResult,
} from './route-store.js';

import type { Clock, ServiceInstance } from '@switchyard/core';
import type { MoveReason, PickStrategy } from './route-model.js';
import type { RouteStore } from './route-store.js';

export interface RouteClientOptions {
  /** Where links and pod leases live: `createRedisRouteStore(…)` or `createMemoryRouteStore()`. */
  store: RouteStore;
  /** Local link cache: most entries kept (default 100 000) and their TTL, ms (default 60 000). */
  cacheSize?: number;
  cacheTtl?: number;
  /** How often the local pod view is relisted, ms (default 1 000); pod changes also relist at once. */
  stateRefreshInterval?: number;
  /** How a new user's pod is chosen (default `least-loaded`). */
  strategy?: PickStrategy;
  /** Users moved off pods drained with `move: true`, at most `perInterval` per `interval` ms per service (default 100 / 1 000). */
  moveBudget?: { perInterval?: number; interval?: number };
  /**
   * Off by default (links never move because pods were added). A ratio ≥ 1: when a request reaches
   * the store (a cache miss), a user on a NORMAL pod whose cost exceeds `rebalance` × the best pod's
   * moves there (`link:moved`, reason `rebalance`), within `moveBudget`.
   */
  rebalance?: number;
  /**
   * `reportUnreachable` declares a pod dead when its last heartbeat is older than
   * `max(suspectAfter, the pod's TTL / 2)`, ms (default 0: TTL / 2 = 1.5 heartbeats).
   */
  suspectAfter?: number;
  /**
   * Optional: where pods are registered as discovery instances (instance id = pod id), e.g. a core
   * `DiscoveryClient` or any backend. Enables `computeLinkedInstance` and checks pod ids given to
   * `setLinkedPodIfAbsent` against it.
   */
  discovery?: PodDirectory;
  clock?: Clock;
}

/** The part of a discovery backend or client the router uses: `resolve(service)`. */
export interface PodDirectory {
  resolve(
    service: string,
    options?: { signal?: AbortSignal },
  ): Promise<{ readonly instances: readonly ServiceInstance[] }>;
}

export interface LinkEvent {
  readonly namespace: string;
  readonly service: string;
  readonly uid: string;
  readonly pod: string;
}

export interface RouteClientEvents {
  /** A new user was placed. */
  'link:created': LinkEvent;
  /** A user's link moved (its pod died, was replaced, forbidden, or drained with `move`). */
  'link:moved': LinkEvent & { readonly from: string; readonly reason: MoveReason };
  /** A background pod-view refresh failed (the last view stays in use). */
  'state:error': { readonly error: unknown };
}

export interface RouteClientStats {
  hits: number;
  misses: number;
  created: number;
  moved: number;
  /** Cached links dropped because their pod became unroutable (died, new epoch, forbidden, drained). */
  staleCorrections: number;
}

export interface BatchLinks {
  /** pod → uids linked to it (valid links only). */
  readonly byPod: Map<string, string[]>;
  /** uids with no valid link. */
  readonly unlinked: string[];
}

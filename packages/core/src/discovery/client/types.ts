import type {
  DiscoveryBackend,
  DiscoveryEvent,
  InstanceDiff,
  InstanceFilter,
  RegisterOptions,
  Registration,
  ServiceInstance,
  ServiceSnapshot,
} from '../../contracts/discovery.js';
import type { TrafficRulesSource } from '../../contracts/traffic-rules.js';
import type { BackoffOptions } from '../../primitives/backoff.js';
import type { Clock } from '../../primitives/clock.js';
import type { Unsubscribe } from '../../primitives/emitter.js';

/** What a load balancer needs from discovery: a backend and a discovery client both satisfy it. */
export type DiscoverySource = Pick<DiscoveryBackend, 'resolve' | 'watch'>;

/** An `InstanceFilter` plus an optional predicate; every field must match (AND). */
export interface ClientInstanceFilter extends InstanceFilter {
  /** Extra predicate, applied after the declarative fields. */
  where?: (instance: ServiceInstance) => boolean;
}

export interface ClientResolveOptions {
  filter?: ClientInstanceFilter;
  signal?: AbortSignal;
}

/** A snapshot served by the client: `revision` is the client's own per-service version. */
export interface ClientSnapshot extends ServiceSnapshot {
  /** True while the backend is unreachable and this is the last known data. */
  readonly stale: boolean;
  /** True when the mass-failure guard returned unhealthy instances too. */
  readonly panic: boolean;
  /** The last backend revision applied to the cache. */
  readonly backendRevision: number;
}

/** Why the client produced an event. */
export type ClientEventSource =
  /** A change delivered by the backend watch. */
  | 'watch'
  /** An anti-entropy relist, or the relist done when a broken watch comes back. */
  | 'resync'
  /** A traffic-rule change (pull-out / pull-in). */
  | 'rules'
  /** The stale flag or the panic flag changed; the instances may be the same. */
  | 'status';

export interface ClientDiscoveryEvent extends DiscoveryEvent {
  readonly snapshot: ClientSnapshot;
  readonly panic: boolean;
  readonly source: ClientEventSource;
}

export interface DiscoveryClientEvents {
  /** The backend watch failed or the backend went silent: the cache is now served stale. */
  'discovery:stale': { service: string; cause: unknown; lastHeardAt: number | undefined };
  /** The watch is back and the cache was resynced. `staleFor` is in ms. */
  'discovery:recovered': { service: string; staleFor: number; diff: InstanceDiff };
  /**
   * A relist found the cache out of date. `diff` holds the changes the watch missed
   * (empty diffs are not reported). `afterOutage` is true for the relist done on recovery.
   */
  'discovery:resync': { service: string; diff: InstanceDiff; afterOutage: boolean };
  /** The mass-failure guard engaged (`active: true`) or released for a service (default filter). */
  'discovery:panic': { service: string; active: boolean; healthy: number; total: number };
  /** A background operation failed (watch, relist); the client keeps serving and retries. */
  'discovery:error': { service: string; during: 'watch' | 'resync'; error: unknown };
}

export type ServiceCacheState =
  /** Not cached: no resolve or watch has asked for it yet. */
  | 'idle'
  /** Waiting for the first snapshot from the backend. */
  | 'syncing'
  | 'synced'
  /** Serving the last known snapshot while the backend is unreachable. */
  | 'stale';

export interface ServiceStatus {
  readonly service: string;
  readonly state: ServiceCacheState;
  /** Client version of the cached data (bumps on every change, rules included). */
  readonly version: number;
  /** Last backend revision applied (from the watch or a relist). */
  readonly backendRevision: number;
  /** Wall-clock ms of the last event or relist from the backend. */
  readonly lastHeardAt: number | undefined;
  /** Since when (wall-clock ms) the cache is stale. */
  readonly staleSince: number | undefined;
  readonly lastError: unknown;
  /** All cached instances, any health, before filters and rules. */
  readonly instances: number;
  /** Active `watch()` subscribers. */
  readonly subscribers: number;
  /** Backend watches opened for this service (1 + restarts). */
  readonly watchesOpened: number;
  /** Relists done (periodic and on recovery). */
  readonly resyncs: number;
  /** Relists whose diff was not empty. */
  readonly resyncsWithChanges: number;
  /** Instance changes (added + removed + updated) found by relists: what the watch missed. */
  readonly missedChanges: number;
  readonly resyncFailures: number;
  /** Backend events whose revision went backwards (each forces a relist). */
  readonly revisionRegressions: number;
  /** Whether the mass-failure guard is engaged for the default filter. */
  readonly panic: boolean;
}

export interface DiscoveryClientOptions {
  backend: DiscoveryBackend;
  /**
   * Operator traffic rules: the client applies their pull-outs (instances, hosts, zones), the one
   * place they are applied; route groups and canaries are the load balancer's (it ignores them here).
   */
  rules?: TrafficRulesSource;
  /**
   * Mass-failure guard, a ratio in 0..1 (default 0.5): when fewer than this share of a service's
   * instances pass the health filter, all of them are returned (Envoy panic threshold, Nacos
   * protect threshold). 0 disables it.
   */
  panicThreshold?: number;
  /** Anti-entropy relist period in ms (default 15 000; 0 disables). Jittered by ±10 %. */
  resyncInterval?: number;
  /**
   * Mark a cache stale when the backend was not heard from (watch event or relist) for this long,
   * in ms (default 3 × resyncInterval = 45 s; 0 disables). Must exceed `resyncInterval`. A backend
   * that reports its own outage (every kit backend marks its events `stale`) is marked at once.
   */
  staleAfter?: number;
  /** How long `resolve()` waits for the first snapshot of a service, in ms (default 10 000). */
  syncTimeout?: number;
  /** Timeout of one relist call, in ms (default 10 000). */
  requestTimeout?: number;
  /** Backoff between watch restarts (core's full-jitter backoff; default base 100 ms, max 30 s). */
  backoff?: BackoffOptions;
  clock?: Clock;
  /** Where a throwing event listener's error goes (default: a process warning `SWITCHYARD_LISTENER_ERROR`). */
  onListenerError?: (error: unknown, event: string) => void;
}

export interface ClientRegisterOptions extends RegisterOptions {
  /** Deregister when the process receives one of these signals (opt-in). */
  deregisterOnSignals?: readonly NodeJS.Signals[];
  /** Bound on the deregistration done on a process signal, in ms (default 5 000). */
  deregisterTimeout?: number;
  /** Backend-specific registration options (Consul `checks`, …) pass through. */
  [option: string]: unknown;
}

/**
 * The client's registration: the backend's (kept alive and re-registered after a loss by the
 * backend), plus deregistration on close or an opted-in process signal.
 */
export interface ClientRegistration extends Registration {
  /** Registrations created for this instance so far (1 + re-registrations). */
  readonly registrations: number;
}

export interface DiscoveryClient extends DiscoveryBackend {
  readonly backend: DiscoveryBackend;
  resolve(service: string, options?: ClientResolveOptions): Promise<ClientSnapshot>;
  watch(service: string, options?: ClientResolveOptions): AsyncIterable<ClientDiscoveryEvent>;
  register(
    instance: Parameters<DiscoveryBackend['register']>[0],
    options?: ClientRegisterOptions,
  ): Promise<ClientRegistration>;
  /** Cache state and counters of one service (`state: 'idle'` if not cached). */
  status(service: string): ServiceStatus;
  /** Runs an anti-entropy relist of a cached service now; resolves to the missed changes. */
  resync(service: string, options?: { signal?: AbortSignal }): Promise<InstanceDiff>;
  on<K extends keyof DiscoveryClientEvents>(
    event: K,
    listener: (payload: DiscoveryClientEvents[K]) => void,
  ): Unsubscribe;
  /** Stops every watch and timer, deregisters managed registrations. Does not close the backend. */
  close(): Promise<void>;
}

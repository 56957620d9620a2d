import type { Unsubscribe } from '../primitives/emitter.js';

/** Health as every backend reports it. Only `passing` instances are returned by default. */
export type InstanceHealth = 'passing' | 'warning' | 'critical' | 'maintenance';

/** One running instance of a service, as stored and returned by every discovery backend. */
export interface ServiceInstance {
  /** Unique within the service. */
  readonly id: string;
  readonly service: string;
  readonly address: string;
  readonly port: number;
  readonly tags: readonly string[];
  readonly metadata: Readonly<Record<string, string>>;
  /** Relative weight for load balancing, >= 0 (default 1). */
  readonly weight: number;
  readonly zone?: string | undefined;
  readonly region?: string | undefined;
  readonly health: InstanceHealth;
}

/** What a caller passes to `register`: defaults fill in tags, metadata, weight and health. */
export interface InstanceInput {
  id: string;
  service: string;
  address: string;
  port: number;
  tags?: readonly string[];
  metadata?: Readonly<Record<string, string>>;
  weight?: number;
  zone?: string;
  region?: string;
  health?: InstanceHealth;
}

export interface InstanceDiff {
  readonly added: readonly ServiceInstance[];
  readonly removed: readonly ServiceInstance[];
  /** Instances present before and after whose fields changed (the new value). */
  readonly updated: readonly ServiceInstance[];
}

/** All instances of a service at one backend revision. */
export interface ServiceSnapshot {
  readonly service: string;
  readonly instances: readonly ServiceInstance[];
  /** Monotonic per watch: never decreases for one service on one backend. */
  readonly revision: number;
}

export type WatchEventReason =
  /** The first snapshot of a watch. */
  | 'initial'
  /** An incremental change delivered by the backend's watch. */
  | 'change'
  /** A full relist after a reconnect, a compaction or an anti-entropy pass; the diff holds what the watch missed. */
  | 'resync';

export interface DiscoveryEvent {
  readonly snapshot: ServiceSnapshot;
  readonly diff: InstanceDiff;
  readonly reason: WatchEventReason;
  /** True while the backend is unreachable and this is the last known snapshot. */
  readonly stale: boolean;
}

export interface InstanceFilter {
  /** Health states to include (default `['passing']`). */
  health?: readonly InstanceHealth[];
  /** Every tag must be present. */
  tags?: readonly string[];
  /** Every key must have exactly this value. */
  metadata?: Readonly<Record<string, string>>;
  zone?: string;
  region?: string;
}

export interface RegisterOptions {
  /** Lease/TTL/heartbeat period in ms (backend default if omitted). */
  ttl?: number;
  signal?: AbortSignal;
}

export interface RegistrationEvents {
  /** The backend lost the registration (lease expired, agent restarted, connection down). */
  'registration:lost': { instance: ServiceInstance; cause: unknown };
  /** The registration was re-created after a loss. */
  'registration:restored': { instance: ServiceInstance };
}

/** A live registration: keeps the instance alive until closed. */
export interface Registration extends AsyncDisposable {
  readonly instance: ServiceInstance;
  /** Changes health (maintenance mode included) without re-registering. */
  setHealth(health: InstanceHealth, options?: { signal?: AbortSignal }): Promise<void>;
  /** Subscribes to `registration:lost` / `registration:restored`. */
  on<K extends keyof RegistrationEvents>(
    event: K,
    listener: (payload: RegistrationEvents[K]) => void,
  ): Unsubscribe;
  /** Deregisters and stops heartbeats. Idempotent. */
  close(options?: { signal?: AbortSignal }): Promise<void>;
}

export interface DiscoveryCapabilities {
  /** Native push watch (true) or polling (false). */
  readonly watch: boolean;
  /** Smallest TTL unit the backend honours. */
  readonly ttlGranularity: 'milliseconds' | 'seconds';
  /** Whether `setHealth` reaches other clients (false: only local). */
  readonly healthUpdates: boolean;
  /** Whether `register` is supported (DNS and Kubernetes are read-only). */
  readonly register: boolean;
}

/**
 * The backend contract. `resolve` returns instances that match the filter (default: passing);
 * `watch` yields an initial event then one per change, with a diff and a monotonic revision,
 * and relists (reason `resync`) rather than drop a change across reconnects or compactions.
 */
export interface DiscoveryBackend extends AsyncDisposable {
  readonly name: string;
  readonly capabilities: DiscoveryCapabilities;
  register(instance: InstanceInput, options?: RegisterOptions): Promise<Registration>;
  resolve(
    service: string,
    options?: { filter?: InstanceFilter; signal?: AbortSignal },
  ): Promise<ServiceSnapshot>;
  watch(
    service: string,
    options?: { filter?: InstanceFilter; signal?: AbortSignal },
  ): AsyncIterable<DiscoveryEvent>;
  /** Names of services with at least one instance. */
  services(options?: { signal?: AbortSignal }): Promise<string[]>;
  close(): Promise<void>;
}

export type DiscoveryBackendFactory<Options = unknown> = (options: Options) => DiscoveryBackend;

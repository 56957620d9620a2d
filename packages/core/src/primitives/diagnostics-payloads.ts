import type { ServiceInstance } from '../contracts/discovery.js';
import type { DiscoveryClientEvents } from '../discovery/client/types.js';

/** Fields every diagnostics payload carries. */
export interface DiagnosticSource {
  /** The package that published the event: `core`, `lock-redis`, `discovery-etcd`, `cache`, … */
  readonly source: string;
}

/** Discovery-client events also name the backend the client reads (its `name`: `etcd`, `consul`, …). */
type ClientPayload<K extends keyof DiscoveryClientEvents> = DiscoveryClientEvents[K] &
  DiagnosticSource & { readonly backend: string };

/**
 * The payload of every channel Switchyard publishes on `node:diagnostics_channel`, by channel name
 * (see `DIAGNOSTICS_CHANNELS`). An interface so packages add their own channels by declaration
 * merging (`declare module '@switchyard/core' { interface DiagnosticsPayloads { … } }`).
 */
export interface DiagnosticsPayloads {
  /** A lock lease was acquired (published by the lock backend's package). */
  'switchyard:lease:acquired': DiagnosticSource & { key: string; owner: string; token: bigint; ttl: number };
  'switchyard:lease:released': DiagnosticSource & { key: string; owner: string; token: bigint };
  'switchyard:lease:lost': DiagnosticSource & { key: string; token: bigint; cause: unknown };
  /** A registration's backend lost it (published by the discovery backend's package). */
  'switchyard:registration:lost': DiagnosticSource & { instance: ServiceInstance; cause: unknown };
  'switchyard:registration:restored': DiagnosticSource & { instance: ServiceInstance };
  'switchyard:discovery:stale': ClientPayload<'discovery:stale'>;
  'switchyard:discovery:recovered': ClientPayload<'discovery:recovered'>;
  'switchyard:discovery:resync': ClientPayload<'discovery:resync'>;
  'switchyard:discovery:panic': ClientPayload<'discovery:panic'>;
  'switchyard:discovery:error': ClientPayload<'discovery:error'>;
  /** A backend's index went backwards (data loss, restore): the view was replaced by a relist. */
  'switchyard:discovery:regression': DiagnosticSource & { service: string; backend: string };
  /** A backend watch stream failed; the kit resumes or relists. */
  'switchyard:discovery:watch-error': DiagnosticSource & { service: string; backend: string; error: unknown };
  /** @switchyard/loadbalancer: the balancer's instance set changed. */
  'switchyard:balancer:instances-changed': DiagnosticSource & {
    service: string;
    instances: readonly ServiceInstance[];
  };
  /** A breaker changed state; `id` is undefined for the service breaker. */
  'switchyard:balancer:breaker-changed': DiagnosticSource & {
    service: string;
    id: string | undefined;
    state: string;
  };
  'switchyard:balancer:ejected': DiagnosticSource & { service: string; id: string; duration: number };
  'switchyard:balancer:returned': DiagnosticSource & { service: string; id: string };
  'switchyard:balancer:watch-error': DiagnosticSource & { service: string; error: unknown };
  /** The retry budget refused a retry (or hedge). */
  'switchyard:balancer:budget-exhausted': DiagnosticSource & { service: string; kind: 'retry' | 'hedge' };
}

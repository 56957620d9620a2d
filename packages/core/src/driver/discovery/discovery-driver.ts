import type { DiscoveryCapabilities, ServiceInstance } from '../../contracts/discovery.js';
import { isSwitchyardError, SwitchyardError } from '../../errors.js';
import type { OptionSchema } from '../../options/option-schema.js';
import type { RegistrationDriver } from '../registration/registration-driver.js';

/** A full read of one service: every instance whatever its health. */
export interface ServiceListing {
  readonly instances: readonly ServiceInstance[];
  /** The backend revision the read was served at; omit when the backend has none (snapshots are then numbered by the feed). */
  readonly revision?: number;
  /**
   * Identity of the backend's history (an etcd cluster id, a Redis run id, a Kubernetes UID…). A
   * change means the history restarted (data loss, restore from a snapshot): the view is replaced.
   */
  readonly epoch?: string;
  /** For backends without a push watch: when to read again, ms (DNS: the smallest record TTL). */
  readonly refreshAfter?: number;
  /**
   * An opaque resume token at `revision` (a Redis stream id, a resourceVersion), for backends whose
   * feed position is not the revision itself; the kit hands it back in `WatchPosition.cursor`.
   */
  readonly cursor?: string;
}

export type WatchChange =
  | { readonly type: 'put'; readonly instance: ServiceInstance }
  | { readonly type: 'delete'; readonly id: string };

/** What a driver's watch yields: incremental changes, or the whole current state (`instances`). */
export interface WatchBatch {
  readonly changes?: readonly WatchChange[];
  /** The full current state (a Consul blocking-query answer, a merged set of EndpointSlices). */
  readonly instances?: readonly ServiceInstance[];
  /**
   * The resume position after the batch: every change up to it was delivered (a batch with neither
   * field is a progress notification or bookmark). It must never run ahead of changes still to come.
   */
  readonly revision: number;
  /**
   * The backend's current revision as the server reported it (a watch-created or response header),
   * for data-loss detection only: lower than a revision already applied means the history
   * restarted. Does not move the resume position.
   */
  readonly backendRevision?: number;
  readonly epoch?: string;
  /** Opaque resume token after the batch (see `ServiceListing.cursor`); omitted: unchanged. */
  readonly cursor?: string;
}

/** Where a watch resumes: every change after `revision` must be delivered. */
export interface WatchPosition {
  readonly revision: number;
  readonly epoch?: string | undefined;
  /** The token of the listing or batch that brought the feed to `revision`, if the driver gave one. */
  readonly cursor?: string | undefined;
}

/**
 * The backend half of a discovery backend. The kit (`defineDiscoveryBackend`) adds validation,
 * registrations kept alive, one shared watch per service with fan-out and per-filter diffs,
 * relists on reset or data loss, stale marking, backoff and close.
 */
export interface DiscoveryDriver<Handle = unknown, Extra = Record<string, unknown>> {
  readonly name: string;
  readonly capabilities: DiscoveryCapabilities;
  /** Absent for read-only backends (DNS, Kubernetes): `register` then rejects with `UNSUPPORTED`. */
  readonly registration?: RegistrationDriver<Handle, Extra>;
  /** Extra per-`register` options the driver understands (passed to `registration.put` as `extra`). */
  readonly registerOptions?: OptionSchema;
  /** Reads every instance of a service. */
  list(service: string, signal: AbortSignal): Promise<ServiceListing>;
  /**
   * Streams changes after `from`. End or throw to have the kit reconnect (with backoff, resuming
   * from the last revision); throw `watchResetError` when `from` cannot be resumed (compacted,
   * 410 Gone) to have it relist. Without `watch` the kit polls `list`.
   */
  watch?(service: string, from: WatchPosition, signal: AbortSignal): AsyncIterable<WatchBatch>;
  /** Whether a broken watch can resume from a revision (true) or needs a relist (false). Default true. */
  readonly resumable?: boolean;
  /** Names of services with at least one instance. */
  services(signal: AbortSignal): Promise<string[]>;
  /** Releases the driver's own resources (its client when it created it). Called last by `close()`. */
  close?(): Promise<void>;
}

/** The error a driver's watch throws when it cannot resume from the requested position. */
export function watchResetError(pkg: string, why: string, cause?: unknown): SwitchyardError {
  return new SwitchyardError('BACKEND_UNAVAILABLE', `[${pkg}] watch must relist: ${why}`, {
    details: { reset: true },
    ...(cause === undefined ? {} : { cause }),
  });
}

export function isWatchReset(error: unknown): boolean {
  return isSwitchyardError(error) && error.details?.reset === true;
}

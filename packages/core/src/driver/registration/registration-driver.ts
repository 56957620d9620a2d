import type { ServiceInstance } from '../../contracts/discovery.js';

/**
 * The backend half of a registration: the remote operations only. Keep-alive scheduling, loss and
 * restore, re-registration, health changes and deregistration on close live in core's
 * `KeptRegistration` (the `ManagedLease` pattern for discovery).
 *
 * `Handle` is whatever the backend needs to refer to a live record: a lease id, a check id.
 */
export interface RegistrationDriver<Handle = unknown, Extra = Record<string, unknown>> {
  /**
   * Writes the instance together with what keeps it alive for `ttl` ms (a lease, a TTL check, an
   * expiry score), replacing a record of the same id. Rejects on failure; the kit retries.
   */
  put(instance: ServiceInstance, ttl: number, signal: AbortSignal, extra: Extra): Promise<Handle>;
  /**
   * Keeps the record alive for another `ttl` ms. Resolves `false` when the backend no longer has it
   * (lease expired or revoked, agent restarted, key deleted): the kit reports the loss and re-puts.
   */
  heartbeat(handle: Handle, instance: ServiceInstance, signal: AbortSignal): Promise<boolean>;
  /**
   * Writes changed fields (health) of a live record in place; `false` when it is gone. Without
   * `update`, the kit re-puts the whole record.
   */
  update?(handle: Handle, instance: ServiceInstance, signal: AbortSignal): Promise<boolean>;
  /**
   * Deletes the record and its keep-alive. A record that is already gone is a success. `handle` is
   * `undefined` after a put that failed or was aborted midway: remove whatever record of this
   * instance the put may have left.
   */
  remove(handle: Handle | undefined, instance: ServiceInstance, signal: AbortSignal): Promise<void>;
  /**
   * For backends that learn of a loss by themselves (an etcd lease `lost` event): call `lost` and
   * the kit re-registers at once instead of at the next heartbeat. Returns an unsubscribe function.
   */
  watchLoss?(handle: Handle, lost: (cause: unknown) => void): () => void;
  /** Drops local resources of a handle that is being replaced or closed (listeners, timers). */
  dispose?(handle: Handle): void;
}

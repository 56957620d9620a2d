import type { LockLease, LockLeaseEvents, Unsubscribe } from '@switchyard/core';
import { opt, parseOptions } from '@switchyard/core/driver';
import { PKG } from './constants.js';

/** A won election: the underlying lock lease plus `proclaim` and `resign`. */
export class Leadership implements LockLease {
  readonly election: string;
  readonly #lease: LockLease;
  readonly #proclaim: (value: string, signal?: AbortSignal) => Promise<void>;

  constructor(
    election: string,
    lease: LockLease,
    proclaim: (value: string, signal?: AbortSignal) => Promise<void>,
  ) {
    this.election = election;
    this.#lease = lease;
    this.#proclaim = proclaim;
  }

  get key(): string {
    return this.#lease.key;
  }
  get owner(): string {
    return this.#lease.owner;
  }
  /** The term's fencing token (create revision of the leader key). */
  get token(): bigint {
    return this.#lease.token;
  }
  /** Fires when leadership is lost (session expiry, failed renewal, forced removal). */
  get signal(): AbortSignal {
    return this.#lease.signal;
  }
  get validUntil(): number {
    return this.#lease.validUntil;
  }
  get held(): boolean {
    return this.#lease.held;
  }

  /** Updates the value observers see, only while still leader; rejects with `LOCK_LOST` otherwise. */
  async proclaim(value: string, options?: { signal?: AbortSignal }): Promise<void> {
    const { signal } = parseOptions(PKG, options, { signal: opt.signal() });
    return this.#proclaim(value, signal);
  }

  /** Gives up leadership (same as `release`). */
  resign(options?: { signal?: AbortSignal }): Promise<boolean> {
    return this.#lease.release(options);
  }

  extend(ttl?: number, options?: { signal?: AbortSignal }): Promise<void> {
    return this.#lease.extend(ttl, options);
  }

  release(options?: { signal?: AbortSignal }): Promise<boolean> {
    return this.#lease.release(options);
  }

  on<K extends keyof LockLeaseEvents>(
    event: K,
    listener: (payload: LockLeaseEvents[K]) => void,
  ): Unsubscribe {
    return this.#lease.on(event, listener);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.#lease.release();
  }
}

import type { LockLease, LockLeaseEvents } from '../contracts/lock.js';
import type { Unsubscribe } from '../primitives/emitter.js';

/**
 * One entry of a reentrant hold: shares the underlying lease (token, signal, renewal) with the
 * other entries of the same owner; `release()` counts down and frees the lock on the last one.
 */
export class ReentrantLease implements LockLease {
  readonly #inner: LockLease;
  readonly #leave: () => Promise<boolean>;
  #released: Promise<boolean> | undefined;

  constructor(inner: LockLease, leave: () => Promise<boolean>) {
    this.#inner = inner;
    this.#leave = leave;
  }

  get key(): string {
    return this.#inner.key;
  }
  get owner(): string {
    return this.#inner.owner;
  }
  get token(): bigint {
    return this.#inner.token;
  }
  get signal(): AbortSignal {
    return this.#inner.signal;
  }
  get validUntil(): number {
    return this.#inner.validUntil;
  }
  get held(): boolean {
    return this.#released === undefined && this.#inner.held;
  }

  extend(ttl?: number, options?: { signal?: AbortSignal }): Promise<void> {
    return this.#inner.extend(ttl, options);
  }

  /** Leaves this entry (idempotent); the lock itself is released when the last entry leaves. */
  release(): Promise<boolean> {
    this.#released ??= this.#inner.signal.aborted ? this.#leave().then(() => false) : this.#leave();
    return this.#released;
  }

  on<K extends keyof LockLeaseEvents>(
    event: K,
    listener: (payload: LockLeaseEvents[K]) => void,
  ): Unsubscribe {
    return this.#inner.on(event, listener);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.release();
  }
}

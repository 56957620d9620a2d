import { type CacheStore, type Clock, isSwitchyardError, SwitchyardError } from '@switchyard/core';

/**
 * A store in the tier list, behind a circuit breaker: after a `BACKEND_UNAVAILABLE` (an outage,
 * a deadline) the store is skipped for `breakerDuration` (calls fail at once with
 * `BACKEND_UNAVAILABLE`, no network), then tried again. So a dead L2 costs one deadline, not one
 * per request, and L1 keeps answering.
 */
export class StoreTier {
  readonly store: CacheStore;
  readonly #clock: Clock;
  readonly #breaker: number;
  #openUntil = 0;
  failures = 0;

  constructor(store: CacheStore, clock: Clock, breakerDuration: number) {
    this.store = store;
    this.#clock = clock;
    this.#breaker = breakerDuration;
  }

  get name(): string {
    return this.store.name;
  }

  get open(): boolean {
    return this.#openUntil > this.#clock.monotonic();
  }

  async call<T>(what: string, fn: (store: CacheStore) => Promise<T>): Promise<T> {
    if (this.#breaker > 0 && this.#openUntil > this.#clock.monotonic()) {
      throw new SwitchyardError(
        'BACKEND_UNAVAILABLE',
        `[cache] ${this.store.name} store skipped after a failure (${what}); retried after ${this.#breaker} ms`,
      );
    }
    try {
      return await fn(this.store);
    } catch (error) {
      if (isSwitchyardError(error, 'BACKEND_UNAVAILABLE')) {
        this.failures++;
        if (this.#breaker > 0) this.#openUntil = this.#clock.monotonic() + this.#breaker;
      }
      throw error;
    }
  }
}

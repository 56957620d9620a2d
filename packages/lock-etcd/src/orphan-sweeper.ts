import { type Clock, fullJitterBackoff } from '@switchyard/core';

/**
 * Queue keys this client must delete but could not (release or cleanup during an outage). While
 * the session lease lives, such a key would block the queue for good, so deletion is retried in
 * the background with jittered backoff until it succeeds (or the key is gone with its lease).
 */
export class OrphanSweeper {
  readonly #orphans = new Map<string, bigint | undefined>();
  readonly #remove: (key: string, rev: bigint | undefined) => Promise<unknown>;
  readonly #clock: Clock;
  readonly #backoff = fullJitterBackoff({ base: 100, max: 2000 });
  #timer: ReturnType<Clock['setTimeout']> | undefined;
  #attempt = 0;
  #running: Promise<void> | undefined;
  #closed = false;

  constructor(clock: Clock, remove: (key: string, rev: bigint | undefined) => Promise<unknown>) {
    this.#clock = clock;
    this.#remove = remove;
  }

  get size(): number {
    return this.#orphans.size;
  }

  /** `rev` set: delete only while the key still has that create revision. */
  add(key: string, rev?: bigint): void {
    // After close the session leases are revoked, which deletes every key on them anyway.
    if (this.#closed) return;
    this.#orphans.set(key, rev);
    this.#schedule();
  }

  #schedule(): void {
    if (this.#timer !== undefined || this.#running) return;
    this.#timer = this.#clock.setTimeout(
      () => {
        this.#timer = undefined;
        this.#running = this.sweep().finally(() => {
          this.#running = undefined;
          if (this.#orphans.size > 0) this.#schedule();
        });
      },
      Math.max(20, this.#backoff(this.#attempt++)),
      { unref: true },
    );
  }

  /** One pass over every orphan; never throws. */
  async sweep(): Promise<void> {
    await Promise.all(
      [...this.#orphans].map(async ([key, rev]) => {
        try {
          await this.#remove(key, rev);
          if (this.#orphans.get(key) === rev) this.#orphans.delete(key);
        } catch {
          // still unreachable: next pass
        }
      }),
    );
    if (this.#orphans.size === 0) this.#attempt = 0;
  }

  /** Stops background retries (after a last pass, if asked). */
  async close(lastPass: boolean): Promise<void> {
    this.#closed = true;
    this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#running;
    if (lastPass && this.#orphans.size > 0) await this.sweep();
    this.#orphans.clear();
  }
}

import type { Clock } from '@switchyard/core';

interface Bucket {
  tokens: number;
  at: number;
}

/**
 * A token bucket per client address: `perSecond` queries a second with bursts of `burst`. The map
 * holds at most `maxClients` addresses (oldest out), so a spoofed-source flood cannot grow it.
 */
export class ClientRateLimit {
  readonly #buckets = new Map<string, Bucket>();
  readonly #perMs: number;

  constructor(
    readonly perSecond: number,
    readonly burst: number,
    readonly maxClients: number,
    readonly clock: Clock,
  ) {
    this.#perMs = perSecond / 1000;
  }

  /** Takes a token for `client`; false when its bucket is empty. */
  take(client: string): boolean {
    const now = this.clock.monotonic();
    let b = this.#buckets.get(client);
    if (!b) {
      b = { tokens: this.burst, at: now };
      this.#buckets.set(client, b);
      if (this.#buckets.size > this.maxClients) {
        const oldest = this.#buckets.keys().next().value;
        if (oldest !== undefined) this.#buckets.delete(oldest);
      }
    } else {
      b.tokens = Math.min(this.burst, b.tokens + (now - b.at) * this.#perMs);
      b.at = now;
    }
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }
}

import type { Clock } from '@switchyard/core';
import type { Etcd3 } from 'etcd3';

/**
 * etcd TTLs are leases, and a lease per key would make 10 000 keys cost 10 000 leases (and as many
 * grant round trips). Keys share one lease per expiry bucket instead: a key written with `ttl`
 * must expire at `now + ttl`; that instant is rounded **up** to a bucket boundary (bucket width =
 * `ratio × ttl`, at least 1 s), and every key of that bucket rides the same lease, granted once to
 * expire at the boundary. So a key never expires early and at most one bucket width late (the cache
 * on top has its own logical expiry in the entry, so lateness only delays the storage reclaim).
 * No keep-alive: bucket leases simply expire.
 */
export class LeasePool {
  readonly #client: Etcd3;
  readonly #clock: Clock;
  readonly #ratio: number;
  readonly #leases = new Map<number, { lease: Promise<string>; id: string | undefined }>();
  #granted = 0;

  constructor(client: Etcd3, clock: Clock, ratio: number) {
    this.#client = client;
    this.#clock = clock;
    this.#ratio = ratio;
  }

  /** Leases granted so far (a test hook: 10 k keys with one TTL must not mean 10 k leases). */
  get granted(): number {
    return this.#granted;
  }

  /** Live buckets. */
  get size(): number {
    return this.#leases.size;
  }

  /** The lease id for a key written now with `ttl` ms. */
  leaseFor(ttl: number): Promise<string> {
    const now = this.#clock.now();
    const width = Math.max(1000, Math.ceil((ttl * this.#ratio) / 1000) * 1000);
    const boundary = Math.ceil((now + ttl) / width) * width;
    this.#prune(now);
    const known = this.#leases.get(boundary);
    if (known) return known.lease;
    const seconds = Math.max(1, Math.ceil((boundary - now) / 1000));
    const slot: { lease: Promise<string>; id: string | undefined } = {
      lease: this.#client.leaseClient.leaseGrant({ TTL: seconds }).then((r) => {
        this.#granted++;
        slot.id = String(r.ID);
        return slot.id;
      }),
      id: undefined,
    };
    this.#leases.set(boundary, slot);
    slot.lease.catch(() => {
      if (this.#leases.get(boundary) === slot) this.#leases.delete(boundary);
    });
    return slot.lease;
  }

  /** Forgets a lease etcd no longer knows (expired early, or etcd lost its data). */
  forget(id: string): void {
    for (const [boundary, slot] of this.#leases) if (slot.id === id) this.#leases.delete(boundary);
  }

  /** Drops buckets that end within a second: a new key gets a fresh lease rather than a dying one. */
  #prune(now: number): void {
    for (const boundary of this.#leases.keys()) if (boundary <= now + 1000) this.#leases.delete(boundary);
  }
}

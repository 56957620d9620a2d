import type { DnsRecord } from '../dns-message.js';

/** One resolved name/type: positive (records) or negative (NXDOMAIN / NODATA, RFC 2308). */
export interface DnsAnswer {
  readonly name: string;
  readonly type: number;
  /** `NXDOMAIN`: the name does not exist; `NODATA`: it exists without records of this type. */
  readonly status: 'NOERROR' | 'NXDOMAIN' | 'NODATA';
  /** Answer records of the asked type for the asked name (CNAME chains followed within the message). */
  readonly records: readonly DnsRecord[];
  /** The additional section (SRV targets' addresses, DNS-SD SRV/TXT). */
  readonly additionals: readonly DnsRecord[];
  /** How long the answer may be cached, ms: the smallest record TTL, or the RFC 2308 negative TTL. */
  readonly ttl: number;
  /** Served from the cache past its TTL because every nameserver failed (stale-if-error). */
  readonly stale: boolean;
}

interface Entry {
  answer: DnsAnswer;
  /** Monotonic ms after which the entry is stale. */
  expiresAt: number;
}

/** TTL-bounded answers, keyed by type and canonical name, with a size bound (oldest first out). */
export class AnswerCache {
  readonly #entries = new Map<string, Entry>();
  readonly #maxEntries: number;

  constructor(maxEntries: number) {
    this.#maxEntries = maxEntries;
  }

  get size(): number {
    return this.#entries.size;
  }

  /** The entry and whether it is still fresh at `now`. */
  get(key: string, now: number): { answer: DnsAnswer; fresh: boolean; age: number } | undefined {
    const e = this.#entries.get(key);
    if (!e) return undefined;
    return { answer: e.answer, fresh: now < e.expiresAt, age: now - (e.expiresAt - e.answer.ttl) };
  }

  set(key: string, answer: DnsAnswer, now: number): void {
    this.#entries.delete(key);
    this.#entries.set(key, { answer, expiresAt: now + answer.ttl });
    if (this.#entries.size > this.#maxEntries) {
      const oldest = this.#entries.keys().next().value;
      if (oldest !== undefined) this.#entries.delete(oldest);
    }
  }

  /** Drops entries stale for longer than `keepStale` ms (called on writes, so memory stays bounded). */
  prune(now: number, keepStale: number): void {
    for (const [k, e] of this.#entries) if (now - e.expiresAt > keepStale) this.#entries.delete(k);
  }

  clear(): void {
    this.#entries.clear();
  }
}

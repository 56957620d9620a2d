/** The four keys of one service. They share the hash tag `{<service>}`: one Redis Cluster slot. */
export interface ServiceKeys {
  /** Hash: instance id → `<owner token>|<instance JSON>`. */
  readonly records: string;
  /** Sorted set: instance id → heartbeat deadline (server time, ms). */
  readonly deadlines: string;
  /** Stream: one entry per change (`r` revision, `e` epoch, `k` p|d, `i` id, `v` JSON of a put). */
  readonly log: string;
  /** Hash: `epoch` (generation id, new after data loss) and `rev` (per-service change counter). */
  readonly meta: string;
}

/**
 * Redis key names. Service names cannot contain `{`, `}` or glob characters (core validation), so
 * keys split unambiguously and a SCAN pattern over them needs no escaping beyond the prefix.
 */
export class KeyLayout {
  readonly prefix: string;
  /** Pub/sub channel a write announces its service on (Cluster mode: the doorbell of the feed). */
  readonly channel: string;
  readonly #cache = new Map<string, ServiceKeys>();

  constructor(prefix: string) {
    this.prefix = prefix;
    this.channel = `${prefix}changes`;
  }

  service(service: string): ServiceKeys {
    let keys = this.#cache.get(service);
    if (!keys) {
      const base = `${this.prefix}{${service}}`;
      keys = Object.freeze({
        records: `${base}:inst`,
        deadlines: `${base}:exp`,
        log: `${base}:log`,
        meta: `${base}:meta`,
      });
      if (this.#cache.size >= 10_000) this.#cache.clear();
      this.#cache.set(service, keys);
    }
    return keys;
  }

  /** SCAN pattern matching the deadline index of every service under the prefix. */
  deadlinesPattern(): string {
    return `${this.prefix.replace(/[*?[\]\\]/g, '\\$&')}{*}:exp`;
  }

  /** The service a deadline-index key belongs to (inverse of `service(s).deadlines`). */
  serviceOfDeadlines(key: string): string | undefined {
    const head = `${this.prefix}{`;
    if (!key.startsWith(head) || !key.endsWith('}:exp')) return undefined;
    return key.slice(head.length, -'}:exp'.length);
  }
}

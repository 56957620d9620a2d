import { randomInt } from 'node:crypto';
import type { Clock } from '@switchyard/core';
import {
  canonicalName,
  DEFAULT_EDNS_SIZE,
  type DecodedMessage,
  type DnsRecord,
  encodeQuery,
  RCODE,
  TYPE,
} from '../dns-message.js';
import { exchangeTcp, exchangeUdp, type Nameserver } from '../resolver/dns-exchange.js';

export interface ForwardedAnswer {
  rcode: number;
  answers: DnsRecord[];
  authorities: DnsRecord[];
  additionals: DnsRecord[];
}

interface Upstream {
  ns: Nameserver;
  failures: number;
  openUntil: number;
}

interface CachedForward {
  answer: ForwardedAnswer;
  storedAt: number;
  ttl: number;
}

export interface UpstreamForwarderOptions {
  upstreams: readonly Nameserver[];
  timeout: number;
  clock: Clock;
  cacheSize: number;
  /** Upper bound on a cached upstream TTL, ms. */
  maxTtl: number;
  /** How long past its TTL an upstream answer may be served (TTL 0) while every upstream fails, ms. */
  staleFor: number;
  /** Queries forwarded at once at most; beyond it the server answers REFUSED (CoreDNS `max_concurrent`). */
  maxInFlight: number;
}

/**
 * Forwards names outside the zone to upstream resolvers in order (UDP, TCP on truncation; an upstream
 * failing three times in a row goes last for a second), caches
 * the answers by their smallest TTL (negative ones by the SOA, RFC 2308) and serves them with the
 * TTLs decremented by their age. When every upstream fails: the expired answer (within `staleFor`,
 * TTL 0), else SERVFAIL.
 */
export class UpstreamForwarder {
  readonly #o: UpstreamForwarderOptions;
  readonly #cache = new Map<string, CachedForward>();
  readonly #inFlight = new Map<string, Promise<ForwardedAnswer | undefined>>();
  readonly #closer = new AbortController();
  readonly #upstreams: Upstream[];
  forwarded = 0;
  cacheHits = 0;
  staleServed = 0;

  constructor(options: UpstreamForwarderOptions) {
    this.#o = options;
    this.#upstreams = options.upstreams.map((ns) => ({ ns, failures: 0, openUntil: 0 }));
  }

  get enabled(): boolean {
    return this.#o.upstreams.length > 0;
  }

  /** The answer, `undefined` when every upstream failed, `'busy'` beyond `maxInFlight`. */
  async forward(name: string, type: number): Promise<ForwardedAnswer | undefined | 'busy'> {
    const key = `${type}:${canonicalName(name)}`;
    const now = this.#o.clock.monotonic();
    const hit = this.#cache.get(key);
    if (hit && now - hit.storedAt < hit.ttl) {
      this.cacheHits++;
      const age = Math.floor((now - hit.storedAt) / 1000);
      const older = (r: DnsRecord) => (r.type === TYPE.OPT ? r : { ...r, ttl: Math.max(0, r.ttl - age) });
      const a = hit.answer;
      return {
        ...a,
        answers: a.answers.map(older),
        authorities: a.authorities.map(older),
        additionals: a.additionals.map(older),
      };
    }
    const running = this.#inFlight.get(key);
    if (running) return running;
    if (this.#inFlight.size >= this.#o.maxInFlight) return 'busy';
    const p = this.#ask(name, type)
      .then((answer) => answer ?? this.#stale(key))
      .finally(() => this.#inFlight.delete(key));
    this.#inFlight.set(key, p);
    return p;
  }

  async #ask(name: string, type: number): Promise<ForwardedAnswer | undefined> {
    // Healthy upstreams first, in order; those with an open breaker only when nothing else is left.
    const now = this.#o.clock.monotonic();
    const order = [...this.#upstreams].sort((a, b) => Number(a.openUntil > now) - Number(b.openUntil > now));
    for (const u of order) {
      const ns = u.ns;
      if (this.#closer.signal.aborted) return undefined;
      try {
        const m = await this.#exchange(ns, name, type);
        if (m.rcode !== RCODE.NOERROR && m.rcode !== RCODE.NXDOMAIN) {
          this.#failed(u);
          continue;
        }
        u.failures = 0;
        this.forwarded++;
        const answer: ForwardedAnswer = {
          rcode: m.rcode,
          answers: m.answers,
          authorities: m.authorities,
          additionals: m.additionals.filter((r) => r.type !== TYPE.OPT),
        };
        this.#store(`${type}:${canonicalName(name)}`, answer);
        return answer;
      } catch {
        this.#failed(u);
      }
    }
    return undefined;
  }

  /**
   * Every upstream failed: an expired answer no older than `staleFor` is served with TTL 0, so
   * nobody caches it (CoreDNS `serve_stale`); `undefined` (SERVFAIL) otherwise.
   */
  #stale(key: string): ForwardedAnswer | undefined {
    const hit = this.#cache.get(key);
    if (!hit || this.#o.clock.monotonic() - hit.storedAt - hit.ttl > this.#o.staleFor) return undefined;
    this.staleServed++;
    const zero = (r: DnsRecord) => (r.type === TYPE.OPT ? r : { ...r, ttl: 0 });
    const a = hit.answer;
    return {
      ...a,
      answers: a.answers.map(zero),
      authorities: a.authorities.map(zero),
      additionals: a.additionals.map(zero),
    };
  }

  /** Three failures in a row skip an upstream for a second (tried again after, or when all are down). */
  #failed(u: Upstream): void {
    u.failures++;
    if (u.failures >= 3) u.openUntil = this.#o.clock.monotonic() + 1_000;
  }

  async #exchange(ns: Nameserver, name: string, type: number): Promise<DecodedMessage> {
    const id = randomInt(0, 65_536);
    const req = { query: encodeQuery(id, name, type, DEFAULT_EDNS_SIZE), id, name, type };
    const m = await exchangeUdp(ns, req, this.#o.timeout, this.#o.clock, this.#closer.signal);
    return m.tc ? exchangeTcp(ns, req, this.#o.timeout, this.#o.clock, this.#closer.signal) : m;
  }

  #store(key: string, answer: ForwardedAnswer): void {
    const records = [...answer.answers, ...answer.authorities];
    let ttl: number;
    if (answer.rcode === RCODE.NOERROR && answer.answers.length > 0) {
      ttl = Math.min(...answer.answers.map((r) => r.ttl)) * 1000;
    } else {
      const soa = records.find((r) => r.type === TYPE.SOA);
      ttl = soa ? Math.min(soa.ttl, soa.minimum ?? soa.ttl) * 1000 : 0;
    }
    ttl = Math.min(ttl, this.#o.maxTtl);
    if (ttl <= 0) return;
    this.#cache.delete(key);
    this.#cache.set(key, { answer, storedAt: this.#o.clock.monotonic(), ttl });
    if (this.#cache.size > this.#o.cacheSize) {
      const oldest = this.#cache.keys().next().value;
      if (oldest !== undefined) this.#cache.delete(oldest);
    }
  }

  async close(): Promise<void> {
    this.#closer.abort();
    await Promise.allSettled([...this.#inFlight.values()]);
    this.#cache.clear();
  }
}

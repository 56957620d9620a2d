import { randomInt } from 'node:crypto';
import {
  type Clock,
  closedError,
  invalidArgument,
  SingleFlight,
  SwitchyardError,
  systemClock,
} from '@switchyard/core';
import {
  type CallPolicy,
  callBackend,
  DEFAULT_REQUEST_TIMEOUT,
  hostBreaker,
  opt,
  parseOptions,
} from '@switchyard/core/driver';
import {
  canonicalName,
  DEFAULT_EDNS_SIZE,
  type DecodedMessage,
  type DnsRecord,
  encodeQuery,
  RCODE,
  TYPE,
} from '../dns-message.js';
import { PKG } from '../package-name.js';
import { AnswerCache, type DnsAnswer } from './answer-cache.js';
import { ExchangeError, exchangeTcp, exchangeUdp, type Nameserver } from './dns-exchange.js';
import { parseNameserver } from './nameserver-address.js';

export type { DnsAnswer } from './answer-cache.js';

export type QueryType = 'A' | 'AAAA' | 'SRV' | 'TXT' | 'PTR';

export interface DnsResolverOptions {
  /** Nameservers tried in order: `'127.0.0.1'`, `'127.0.0.1:5353'`, `'[::1]:53'`. */
  nameservers: readonly string[];
  /** Deadline of one whole lookup (every server and retry), ms. Default 5 000. */
  requestTimeout?: number;
  /** Deadline of one try on one server, ms. Default 1 000. */
  queryTimeout?: number;
  /** Rounds over the nameserver list. Default 2. */
  attempts?: number;
  /** EDNS UDP payload size we advertise. Default 1232 (DNS Flag Day 2020). */
  udpSize?: number;
  /** Upper bound on a positive TTL, ms. Default 3 600 000. */
  maxTtl?: number;
  /** Upper bound on a negative TTL (RFC 2308), ms. Default 30 000. */
  maxNegativeTtl?: number;
  /** How long an expired answer may still be served when every nameserver fails, ms. Default 60 000; 0 disables. */
  staleIfError?: number;
  /** Answer an expired entry at once and refresh it in the background. Default false. */
  staleWhileRevalidate?: boolean;
  /** Cached answers at most. Default 10 000. */
  cacheSize?: number;
  /** Per-nameserver breaker: failures in a row that open it, and how long it stays open (ms). */
  breaker?: { threshold?: number; halfOpenAfter?: number };
  clock?: Clock;
}

export interface DnsResolverStats {
  readonly queries: number;
  readonly cacheHits: number;
  readonly staleServed: number;
  readonly tcpRetries: number;
  readonly failovers: number;
  readonly cacheSize: number;
}

/** A caching stub resolver on dns2's codec with its own sockets (dns2's clients lack timeouts). */
export interface DnsResolver extends AsyncDisposable {
  /** Resolves `name`/`type`. NXDOMAIN and NODATA are answers (`status`), not errors. */
  query(name: string, type: QueryType, options?: { signal?: AbortSignal }): Promise<DnsAnswer>;
  readonly stats: DnsResolverStats;
  clearCache(): void;
  close(): Promise<void>;
}

const TYPE_CODES: Record<QueryType, number> = {
  A: TYPE.A,
  AAAA: TYPE.AAAA,
  SRV: TYPE.SRV,
  TXT: TYPE.TXT,
  PTR: TYPE.PTR,
};
const DNS_NAME =
  /^(?:[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?\.)*[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?\.?$/;

export function createDnsResolver(options: DnsResolverOptions): DnsResolver {
  const o = parseOptions(PKG, options, {
    nameservers: opt
      .array(
        opt.custom((v, at) => parseNameserver(at.field, v)),
        { min: 1, max: 16 },
      )
      .required(),
    requestTimeout: opt.duration().default(DEFAULT_REQUEST_TIMEOUT),
    queryTimeout: opt.duration({ min: 1 }).default(1_000),
    attempts: opt.integer(1, 10).default(2),
    udpSize: opt.integer(512, 65_535).default(DEFAULT_EDNS_SIZE),
    maxTtl: opt.duration().default(3_600_000),
    maxNegativeTtl: opt.duration({ allowZero: true }).default(30_000),
    staleIfError: opt.duration({ allowZero: true }).default(60_000),
    staleWhileRevalidate: opt.boolean().default(false),
    cacheSize: opt.integer(1).default(10_000),
    breaker: opt.object({
      threshold: opt.integer(1, 100).default(3),
      halfOpenAfter: opt.duration().default(1_000),
    }),
    clock: opt.clock().default(systemClock),
  });
  const clock = o.clock;
  const servers = o.nameservers.map((ns) => ({
    ns,
    breaker: hostBreaker({
      pkg: PKG,
      clock,
      threshold: o.breaker?.threshold ?? 3,
      halfOpenAfter: o.breaker?.halfOpenAfter ?? 1_000,
      isFailure: (e) => e instanceof ExchangeError && e.reason !== 'aborted',
      isSevere: (e) => e instanceof ExchangeError && e.reason === 'timeout',
    }) as CallPolicy,
  }));
  const cache = new AnswerCache(o.cacheSize);
  const flights = new SingleFlight<string, DnsAnswer>();
  const closer = new AbortController();
  const counters = { queries: 0, cacheHits: 0, staleServed: 0, tcpRetries: 0, failovers: 0 };
  let closed = false;

  /** One try on one server: UDP, then TCP when the reply is truncated. */
  async function tryServer(
    ns: Nameserver,
    name: string,
    type: number,
    signal: AbortSignal,
  ): Promise<DecodedMessage> {
    const id = randomInt(0, 65_536);
    const req = { query: encodeQuery(id, name, type, o.udpSize), id, name, type };
    let m = await exchangeUdp(ns, req, o.queryTimeout, clock, signal);
    if (m.tc) {
      counters.tcpRetries++;
      m = await exchangeTcp(ns, req, o.queryTimeout, clock, signal);
    }
    if (m.rcode !== RCODE.NOERROR && m.rcode !== RCODE.NXDOMAIN) {
      throw new ExchangeError('network', `${ns.host}:${ns.port} answered ${rcodeName(m.rcode)} for ${name}`, {
        cause: rcodeName(m.rcode),
      });
    }
    return m;
  }

  async function fetch(name: string, type: number, signal: AbortSignal): Promise<DnsAnswer> {
    const failures: string[] = [];
    let reason: string | undefined;
    for (let round = 0; round < o.attempts; round++) {
      let skipped = 0;
      for (const s of servers) {
        if (signal.aborted) throw signal.reason;
        try {
          const m = await s.breaker.execute(() => tryServer(s.ns, name, type, signal));
          return toAnswer(name, type, m, o.maxTtl, o.maxNegativeTtl);
        } catch (e) {
          if (e instanceof SwitchyardError && e.details?.hostSkipped) {
            skipped++;
            continue;
          }
          if (e instanceof ExchangeError && e.reason === 'aborted') throw signal.reason;
          counters.failovers++;
          const why = e instanceof Error ? e.message : String(e);
          failures.push(why);
          reason =
            e instanceof ExchangeError
              ? typeof e.cause === 'string'
                ? e.cause.toLowerCase()
                : e.reason
              : 'network';
        }
      }
      // Every breaker open: try the servers anyway rather than fail without asking anyone.
      if (skipped === servers.length) {
        for (const s of servers) {
          try {
            return toAnswer(
              name,
              type,
              await tryServer(s.ns, name, type, signal),
              o.maxTtl,
              o.maxNegativeTtl,
            );
          } catch (e) {
            if (e instanceof ExchangeError && e.reason === 'aborted') throw signal.reason;
            failures.push(e instanceof Error ? e.message : String(e));
            reason =
              e instanceof ExchangeError
                ? typeof e.cause === 'string'
                  ? e.cause.toLowerCase()
                  : e.reason
                : 'network';
          }
        }
      }
    }
    throw new SwitchyardError(
      'BACKEND_UNAVAILABLE',
      `[${PKG}] ${typeName(type)} ${name}: every nameserver failed (${failures.slice(-3).join('; ')})`,
      { details: { name, type: typeName(type), reason } },
    );
  }

  function refresh(
    key: string,
    name: string,
    type: number,
    signal: AbortSignal | undefined,
  ): Promise<DnsAnswer> {
    return flights
      .do(key, () =>
        callBackend(
          `${typeName(type)} ${name}`,
          { pkg: PKG, clock, timeout: o.requestTimeout, signal: closer.signal },
          (s) => fetch(name, type, s),
        ).then((answer) => {
          const now = clock.monotonic();
          cache.set(key, answer, now);
          if (cache.size > o.cacheSize / 2) cache.prune(now, o.staleIfError);
          return answer;
        }),
      )
      .then((a) => {
        if (signal?.aborted) throw signal.reason;
        return a;
      });
  }

  return {
    get stats() {
      return { ...counters, cacheSize: cache.size };
    },
    clearCache: () => cache.clear(),
    async query(name, type, options = {}) {
      if (closed) throw closedError(PKG, 'DNS resolver');
      const { signal } = parseOptions(PKG, options, { signal: opt.signal() });
      if (typeof name !== 'string' || !DNS_NAME.test(name) || name.length > 254) {
        throw invalidArgument(PKG, 'name', `must be a DNS name, got ${JSON.stringify(name)}`);
      }
      const code = TYPE_CODES[type];
      if (code === undefined)
        throw invalidArgument(PKG, 'type', `must be one of ${Object.keys(TYPE_CODES).join(', ')}`);
      counters.queries++;
      const canonical = canonicalName(name);
      const key = `${code}:${canonical}`;
      const now = clock.monotonic();
      const hit = cache.get(key, now);
      if (hit?.fresh) {
        counters.cacheHits++;
        return hit.answer;
      }
      if (hit && o.staleWhileRevalidate && hit.age - hit.answer.ttl <= o.staleIfError) {
        counters.staleServed++;
        refresh(key, canonical, code, undefined).catch(() => {});
        return { ...hit.answer, stale: true };
      }
      try {
        return await callBackend(
          `${type} ${canonical}`,
          { pkg: PKG, clock, timeout: o.requestTimeout, signal },
          () => refresh(key, canonical, code, signal),
        );
      } catch (e) {
        const late = cache.get(key, clock.monotonic());
        const abortedByCaller = signal?.aborted === true;
        if (!abortedByCaller && late && o.staleIfError > 0 && late.age - late.answer.ttl <= o.staleIfError) {
          counters.staleServed++;
          return { ...late.answer, stale: true };
        }
        throw e;
      }
    },
    async close() {
      if (closed) return;
      closed = true;
      closer.abort(closedError(PKG, 'DNS resolver'));
      cache.clear();
    },
    async [Symbol.asyncDispose]() {
      await this.close();
    },
  };
}

function rcodeName(rcode: number): string {
  return Object.entries(RCODE).find(([, v]) => v === rcode)?.[0] ?? `RCODE${rcode}`;
}

function typeName(type: number): string {
  return Object.entries(TYPE).find(([, v]) => v === type)?.[0] ?? `TYPE${type}`;
}

/** Turns a reply into an answer: follows CNAMEs in the message, takes the smallest TTL, RFC 2308 for negatives. */
export function toAnswer(
  name: string,
  type: number,
  m: DecodedMessage,
  maxTtl: number,
  maxNegativeTtl: number,
): DnsAnswer {
  let owner = canonicalName(name);
  let ttl = Number.POSITIVE_INFINITY;
  for (let hops = 0; hops < 8; hops++) {
    const cname = m.answers.find((r) => r.type === TYPE.CNAME && canonicalName(r.name) === owner);
    if (!cname?.domain || type === TYPE.CNAME) break;
    ttl = Math.min(ttl, cname.ttl);
    owner = canonicalName(cname.domain);
  }
  const records: DnsRecord[] = m.answers.filter((r) => r.type === type && canonicalName(r.name) === owner);
  if (m.rcode === RCODE.NOERROR && records.length > 0) {
    for (const r of records) ttl = Math.min(ttl, r.ttl);
    return {
      name,
      type,
      status: 'NOERROR',
      records,
      additionals: m.additionals,
      ttl: Math.min(ttl * 1000, maxTtl),
      stale: false,
    };
  }
  // RFC 2308 §5: the negative TTL is min(SOA TTL, SOA MINIMUM); without an SOA, do not cache.
  const soa = m.authorities.find((r) => r.type === TYPE.SOA);
  const negative = soa ? Math.min(soa.ttl, soa.minimum ?? soa.ttl) * 1000 : 0;
  return {
    name,
    type,
    status: m.rcode === RCODE.NXDOMAIN ? 'NXDOMAIN' : 'NODATA',
    records: [],
    additionals: [],
    ttl: Math.min(negative, maxNegativeTtl),
    stale: false,
  };
}

import { isIP } from 'node:net';
import {
  type Clock,
  type DiscoveryBackend,
  type InstanceHealth,
  invalidArgument,
  systemClock,
} from '@switchyard/core';
import { DEFAULT_REQUEST_TIMEOUT, DEFAULT_TTL, opt, parseOptions } from '@switchyard/core/driver';
import { canonicalName, DEFAULT_EDNS_SIZE, decodeMessage, RCODE, TYPE } from '../dns-message.js';
import { PKG } from '../package-name.js';
import { parseNameserver } from '../resolver/nameserver-address.js';
import { ClientRateLimit } from './client-rate-limit.js';
import { openListeners } from './dns-listeners.js';
import { EncodedAnswers } from './encoded-answers.js';
import { type QueryShape, readQuery } from './query-reader.js';
import { RegistryView } from './registry-view.js';
import {
  patchCached,
  questionNameLength,
  type RequestShape,
  writeError,
  writeResponse,
} from './response-writer.js';
import { UpstreamForwarder } from './upstream-forwarder.js';
import { buildAnswer, type Located, locate, locateCached, tagOf, type ZoneConfig } from './zone-answers.js';

export interface DnsServerOptions {
  /** The registry to publish: any discovery backend (memory, etcd, Consul, Kubernetes, Redis, DNS). */
  discovery: DiscoveryBackend;
  /** The zone served, e.g. `'service.example.'`: `orders.service.example.` is the service `orders`. */
  zone: string;
  /** Address to listen on (UDP and TCP). Default `127.0.0.1`. */
  host?: string;
  /** Port (UDP and TCP); 0 picks a free one. Default 0. */
  port?: number;
  /** TTL of answers, ms (whole seconds on the wire). Default 5 000; at most `registrationTtl`. */
  ttl?: number;
  /** The longest a registration lives without heartbeats, ms: the bound on `ttl`. Default 10 000. */
  registrationTtl?: number;
  /** Negative TTL (SOA TTL and MINIMUM, RFC 2308), ms. Default 5 000. */
  negativeTtl?: number;
  /** Health states served at the service's names. Default `['passing']`. */
  healthy?: readonly InstanceHealth[];
  /** Order of A/AAAA/SRV answers: rotated per query (round robin), random, or fixed. Default `rotate`. */
  order?: 'rotate' | 'random' | 'fixed';
  /** Records in one service-level answer at most. Default 64. */
  maxAnswers?: number;
  /** The largest UDP answer, octets, whatever the client's EDNS size. Default 1232. */
  udpSize?: number;
  /** Resolvers for names outside the zone (`host[:port]`). None: REFUSED. */
  upstreams?: readonly string[];
  /** Deadline of one upstream try, ms. Default 2 000. */
  upstreamTimeout?: number;
  /** An upstream answer past its TTL is served (with TTL 0) this long while every upstream fails, ms. Default 60 000; 0: off. */
  upstreamStale?: number;
  /** Forwarded queries in flight at most (REFUSED beyond). Default 256. */
  maxForwards?: number;
  /** Deadline for backend reads (first snapshot of a service, the service list), ms. Default 5 000. */
  requestTimeout?: number;
  /** An unknown name refreshes the service list at most this often, ms. Default 250. */
  missRefresh?: number;
  /** Services watched at most. Default 10 000. */
  maxServices?: number;
  /** Encoded answers and upstream answers cached at most (each). Default 10 000. */
  cacheSize?: number;
  /** TCP connections at most; idle ones close after `tcpIdleTimeout` ms (default 256, 10 000). */
  maxTcpConnections?: number;
  tcpIdleTimeout?: number;
  /** Per client address over UDP: queries a second and burst; beyond it queries are dropped. Default: off. */
  rateLimit?: { perSecond: number; burst?: number; maxClients?: number };
  /** Where backend errors go (default: ignored; the server answers SERVFAIL or from its last view). */
  onError?: (error: unknown) => void;
  clock?: Clock;
}

export interface DnsServerStats {
  readonly queries: number;
  readonly cacheHits: number;
  readonly truncated: number;
  readonly formErrors: number;
  readonly dropped: number;
  readonly forwarded: number;
  readonly refused: number;
  readonly rateLimited: number;
}

export interface DnsServer extends AsyncDisposable {
  readonly host: string;
  /** UDP and TCP port. */
  readonly port: number;
  readonly stats: DnsServerStats;
  close(): Promise<void>;
}

/** Starts a DNS server publishing `discovery` under `zone` over UDP and TCP. */
export async function startDnsServer(options: DnsServerOptions): Promise<DnsServer> {
  const o = parseOptions(PKG, options, {
    discovery: opt
      .instance<DiscoveryBackend>(
        (v) => typeof (v as DiscoveryBackend)?.watch === 'function',
        'a discovery backend',
      )
      .required(),
    zone: opt
      .string({
        maxLength: 200,
        pattern: /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*\.?$/,
        hint: 'a DNS name like "svc.example."',
      })
      .required(),
    host: opt.string({ maxLength: 64 }).default('127.0.0.1'),
    port: opt.integer(0, 65_535).default(0),
    ttl: opt.duration({ allowZero: true }).default(5_000),
    registrationTtl: opt.duration().default(DEFAULT_TTL.registration),
    negativeTtl: opt.duration({ allowZero: true }).default(5_000),
    healthy: opt
      .array(opt.oneOf(['passing', 'warning', 'critical', 'maintenance'] as const), { min: 1 })
      .default(['passing']),
    order: opt.oneOf(['rotate', 'random', 'fixed'] as const).default('rotate'),
    maxAnswers: opt.integer(1, 1_000).default(64),
    udpSize: opt.integer(512, 65_535).default(DEFAULT_EDNS_SIZE),
    upstreams: opt
      .array(
        opt.custom((v, at) => parseNameserver(at.field, v)),
        { max: 16 },
      )
      .default([]),
    upstreamTimeout: opt.duration().default(2_000),
    upstreamStale: opt.duration({ allowZero: true }).default(60_000),
    maxForwards: opt.integer(1).default(256),
    requestTimeout: opt.duration().default(DEFAULT_REQUEST_TIMEOUT),
    missRefresh: opt.duration({ allowZero: true }).default(250),
    maxServices: opt.integer(1).default(10_000),
    cacheSize: opt.integer(1).default(10_000),
    maxTcpConnections: opt.integer(1).default(256),
    tcpIdleTimeout: opt.duration().default(10_000),
    rateLimit: opt.object({
      perSecond: opt.number(0.001, 10_000_000).required(),
      burst: opt.integer(1),
      maxClients: opt.integer(1).default(100_000),
    }),
    onError: opt.func<(error: unknown) => void>(),
    clock: opt.clock().default(systemClock),
  });
  if (isIP(o.host) === 0)
    throw invalidArgument(PKG, 'host', `must be an IP address, got ${JSON.stringify(o.host)}`);
  if (o.ttl > o.registrationTtl) {
    throw invalidArgument(
      PKG,
      'ttl',
      `must be <= registrationTtl (${o.registrationTtl} ms): a cached answer must not outlive the instance`,
    );
  }
  const onError = o.onError ?? (() => {});
  const zone = canonicalName(o.zone);
  const dotZone = `.${zone}`;
  const cfg: ZoneConfig = {
    zone,
    ttl: Math.floor(o.ttl / 1000),
    negativeTtl: Math.floor(o.negativeTtl / 1000),
    healthy: new Set(o.healthy),
    maxAnswers: o.maxAnswers,
    serial: Math.floor(Date.now() / 1000),
  };
  const registry = new RegistryView(o.discovery, {
    clock: o.clock,
    requestTimeout: o.requestTimeout,
    missRefresh: o.missRefresh,
    maxServices: o.maxServices,
    onError,
  });
  const forwarder = new UpstreamForwarder({
    upstreams: o.upstreams,
    timeout: o.upstreamTimeout,
    clock: o.clock,
    cacheSize: o.cacheSize,
    maxTtl: 3_600_000,
    staleFor: o.upstreamStale,
    maxInFlight: o.maxForwards,
  });
  const counters = {
    queries: 0,
    cacheHits: 0,
    truncated: 0,
    formErrors: 0,
    dropped: 0,
    refused: 0,
    rateLimited: 0,
  };
  const limiter = o.rateLimit
    ? new ClientRateLimit(
        o.rateLimit.perSecond,
        o.rateLimit.burst ?? Math.max(1, Math.ceil(o.rateLimit.perSecond)),
        o.rateLimit.maxClients,
        o.clock,
      )
    : undefined;
  const answers = new EncodedAnswers(o.cacheSize, o.order, counters);

  /** Decodes a query: the fast reader for the common shape, dns2's decoder for the rest. */
  function shapeOf(query: Buffer): QueryShape | 'formerr' | undefined {
    const fast = readQuery(query);
    if (fast) return fast;
    // No readable header, or a response (QR=1): drop, never answer (no reflection loops).
    if (query.length < 12 || ((query[2] as number) & 0x80) !== 0) return undefined;
    const m = decodeMessage(query);
    const nameLength = questionNameLength(query);
    const q = m?.questions[0];
    if (!m || m.errors > 0 || m.questions.length !== 1 || !q || nameLength < 0 || m.answers.length > 0)
      return 'formerr';
    const opt = m.additionals.find((r) => r.type === TYPE.OPT);
    return {
      id: m.id,
      rd: m.rd,
      name: canonicalName(q.name),
      type: q.type,
      class: q.class,
      nameLength,
      ednsSize: opt ? opt.class : undefined,
    };
  }

  /** Answers a query: synchronously from the encoded-answer cache when it can, else asynchronously. */
  function handle(query: Buffer, tcp: boolean): Buffer | undefined | Promise<Buffer | undefined> {
    counters.queries++;
    if (
      query.length >= 12 &&
      (((query[2] as number) >> 3) & 0x0f) !== 0 &&
      ((query[2] as number) & 0x80) === 0
    ) {
      return writeError(query.readUInt16BE(0), (query[2] as number) & 1, RCODE.NOTIMP);
    }
    const q = shapeOf(query);
    if (q === undefined) {
      counters.dropped++;
      return undefined;
    }
    if (q === 'formerr') {
      counters.formErrors++;
      return writeError(query.readUInt16BE(0), (query[2] as number) & 1, RCODE.FORMERR);
    }
    const limit = tcp
      ? 65_535
      : q.ednsSize === undefined
        ? 512
        : Math.min(Math.max(512, q.ednsSize), o.udpSize);
    const edns = q.ednsSize === undefined ? undefined : o.udpSize;
    const question = { name: q.name, type: q.type, class: q.class };
    if (q.class !== 1 || q.type === TYPE.AXFR || q.type === 251) {
      counters.refused++;
      return writeError(q.id, q.rd, q.class !== 1 ? RCODE.REFUSED : RCODE.NOTIMP, question);
    }
    const inZone = q.name === zone || q.name.endsWith(dotZone);
    if (!inZone) return forward(query, q, question, limit, edns);
    // RFC 8482: no ANY answers from the zone.
    if (q.type === TYPE.ANY) return writeError(q.id, q.rd, RCODE.NOTIMP, question);
    const key = `${q.type}:${q.name}:${limit}:${edns ?? 0}`;
    const located = locateCached(registry, zone, q.name);
    if (located) return respond(located, key, query, q, question, limit, edns);
    return locate(registry, zone, q.name).then((l) => respond(l, key, query, q, question, limit, edns));
  }

  function respond(
    located: Located,
    key: string,
    query: Buffer,
    q: QueryShape,
    question: RequestShape['question'],
    limit: number,
    edns: number | undefined,
  ): Buffer {
    const req = { id: q.id, rd: q.rd, question, edns };
    const ra = forwarder.enabled;
    return answers.answer(
      located.kind !== 'unavailable',
      key,
      tagOf(located, registry),
      query,
      q.nameLength,
      (rotation) => {
        const r = buildAnswer(located, q.type, cfg, registry, rotation);
        const out = writeResponse(req, { ...r, aa: r.rcode !== RCODE.SERVFAIL, ra }, limit);
        return { ...out, variants: r.variants };
      },
    );
  }

  async function forward(
    query: Buffer,
    q: QueryShape,
    question: RequestShape['question'],
    limit: number,
    edns: number | undefined,
  ): Promise<Buffer> {
    if (!forwarder.enabled) {
      counters.refused++;
      return writeError(q.id, q.rd, RCODE.REFUSED, question);
    }
    const f = await forwarder.forward(q.name, q.type);
    if (f === 'busy') {
      counters.refused++;
      return writeError(q.id, q.rd, RCODE.REFUSED, question);
    }
    if (!f) return writeError(q.id, q.rd, RCODE.SERVFAIL, question);
    const out = writeResponse({ id: q.id, rd: q.rd, question, edns }, { ...f, aa: false, ra: true }, limit);
    if (out.truncated) counters.truncated++;
    return patchCached(out.buffer, query, q.nameLength);
  }

  /** Runs `handle` and calls `reply` exactly once: with the answer, or `undefined` for a dropped query. */
  function safeHandle(query: Buffer, tcp: boolean, reply: (b: Buffer | undefined) => void): void {
    const fail = (e: unknown) => {
      onError(e);
      let b: Buffer | undefined;
      try {
        if (query.length >= 12)
          b = writeError(query.readUInt16BE(0), (query[2] as number) & 1, RCODE.SERVFAIL);
      } catch {
        // nothing sensible to send
      }
      reply(b);
    };
    let r: ReturnType<typeof handle>;
    try {
      r = handle(query, tcp);
    } catch (e) {
      fail(e);
      return;
    }
    if (r instanceof Promise) r.then(reply, fail);
    else reply(r);
  }

  const listeners = await openListeners(o.host, o.port, {
    handle: safeHandle,
    admitUdp: (address) => {
      if (!limiter || limiter.take(address)) return true;
      counters.rateLimited++;
      return false;
    },
    onError,
    maxTcpConnections: o.maxTcpConnections,
    tcpIdleTimeout: o.tcpIdleTimeout,
  });
  let closing: Promise<void> | undefined;
  const server: DnsServer = {
    host: o.host,
    port: listeners.port,
    get stats() {
      return { ...counters, forwarded: forwarder.forwarded };
    },
    close() {
      closing ??= (async () => {
        await listeners.close();
        await Promise.all([registry.close(), forwarder.close()]);
        answers.clear();
      })();
      return closing;
    },
    [Symbol.asyncDispose]() {
      return this.close();
    },
  };
  return server;
}

import { isIP } from 'node:net';
import type { DiscoveryCapabilities, ServiceInstance } from '@switchyard/core';
import { invalidArgument, systemClock } from '@switchyard/core';
import {
  DEFAULT_REQUEST_TIMEOUT,
  DEFAULT_TTL,
  defineDiscoveryBackend,
  type KitDiscoveryBackend,
  opt,
  parseOptions,
  type ServiceListing,
} from '@switchyard/core/driver';
import { canonicalName, type DnsRecord, TYPE } from '../dns-message.js';
import { txtToInstanceFields } from '../instance-txt.js';
import { PKG } from '../package-name.js';
import type { DnsAnswer } from './answer-cache.js';
import {
  createDnsResolver,
  type DnsResolver,
  type DnsResolverOptions,
  type QueryType,
} from './dns-resolver.js';

const CAPABILITIES: DiscoveryCapabilities = Object.freeze({
  watch: false,
  ttlGranularity: 'seconds',
  healthUpdates: true,
  register: false,
});

export type DnsLookupMode = 'srv' | 'a' | 'dns-sd';

export interface DnsDiscoveryOptions extends Partial<DnsResolverOptions> {
  /**
   * `srv`: SRV records at the service's name, targets resolved to A/AAAA (the additional section
   * first). `a`: A/AAAA records with a fixed `port`. `dns-sd`: RFC 6763 browsing as the
   * `createDnsServer` half publishes it (every field of the instance, any health).
   */
  mode?: DnsLookupMode;
  /** The DNS name of a service, `{service}` replaced: `'_http._tcp.{service}.example.'`. Default `'{service}.' + zone`. */
  name?: string;
  /** The zone `dns-sd` mode browses (`_services._dns-sd._udp.<zone>` lists the services). */
  zone?: string;
  /** The port of every instance in `a` mode. */
  port?: number;
  /** Address records to look up: `['A']`, `['AAAA']` or both (default). */
  addressTypes?: readonly ('A' | 'AAAA')[];
  /** `srv`: only the lowest priority group that resolves (RFC 2782 clients) or every group. Default `lowest`. */
  priorities?: 'lowest' | 'all';
  /** The services `services()` reports in `srv` and `a` modes (DNS cannot enumerate them). */
  services?: readonly string[];
  /** A resolver to share (its cache and breakers); default: one built from these options, closed with the backend. */
  resolver?: DnsResolver;
  /** Re-resolve no sooner than this after a TTL-0 answer, ms. Default 1 000. */
  minRefresh?: number;
  /** Re-resolve at the latest this long after a lookup, ms. Default 30 000. */
  maxRefresh?: number;
}

const RESOLVER_KEYS = [
  'nameservers',
  'queryTimeout',
  'attempts',
  'udpSize',
  'maxTtl',
  'maxNegativeTtl',
  'staleIfError',
  'staleWhileRevalidate',
  'cacheSize',
  'breaker',
  'clock',
] as const;

/**
 * A read-only discovery backend over DNS. `watch` re-resolves when the answer's TTL runs out (with
 * jitter) and emits the exact diff through the kit; `register` rejects with `UNSUPPORTED`.
 */
export function createDnsDiscovery(options: DnsDiscoveryOptions): KitDiscoveryBackend {
  const { resolver: given, ...rest } = (options ?? {}) as DnsDiscoveryOptions;
  const resolverOptions: Record<string, unknown> = {};
  const own: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(rest)) {
    if ((RESOLVER_KEYS as readonly string[]).includes(k)) resolverOptions[k] = v;
    else own[k] = v;
  }
  const o = parseOptions(PKG, own, {
    mode: opt.oneOf(['srv', 'a', 'dns-sd'] as const).default('srv'),
    name: opt.string({ maxLength: 253, pattern: /\{service\}/, hint: 'a name containing {service}' }),
    zone: opt.string({
      maxLength: 253,
      pattern: /^[A-Za-z0-9_.-]+$/,
      hint: 'a DNS zone like "svc.example."',
    }),
    port: opt.integer(1, 65_535),
    addressTypes: opt.array(opt.oneOf(['A', 'AAAA'] as const), { min: 1, max: 2 }).default(['A', 'AAAA']),
    priorities: opt.oneOf(['lowest', 'all'] as const).default('lowest'),
    services: opt.array(opt.string({ maxLength: 253 })).default([]),
    minRefresh: opt.duration().default(1_000),
    maxRefresh: opt.duration().default(30_000),
    requestTimeout: opt.duration().default(DEFAULT_REQUEST_TIMEOUT),
    backoff: opt.backoff({ base: 200, max: 10_000 }),
  });
  if (o.mode === 'a' && o.port === undefined) throw invalidArgument(PKG, 'port', 'is required in mode "a"');
  if (o.mode === 'dns-sd' && o.zone === undefined)
    throw invalidArgument(PKG, 'zone', 'is required in mode "dns-sd"');
  if (o.name === undefined && o.zone === undefined) throw invalidArgument(PKG, 'name', 'or zone is required');
  const zone = o.zone === undefined ? undefined : canonicalName(o.zone);
  const template = o.name ?? `{service}.${zone}`;
  if (
    given !== undefined &&
    (typeof given !== 'object' || typeof (given as DnsResolver).query !== 'function')
  ) {
    throw invalidArgument(PKG, 'resolver', 'must be a resolver from createDnsResolver()');
  }
  if (given !== undefined && resolverOptions.nameservers !== undefined) {
    throw invalidArgument(PKG, 'resolver', 'and nameservers are exclusive: pass one');
  }
  const resolver =
    given ??
    createDnsResolver({
      ...(resolverOptions as unknown as DnsResolverOptions),
      requestTimeout: o.requestTimeout,
    });
  const clock = (resolverOptions.clock as DnsResolverOptions['clock']) ?? systemClock;
  const nameOf = (service: string) => template.replaceAll('{service}', service);

  /** Address records of the additional section by owner name, built once per answer. */
  const glueIndex = new WeakMap<readonly DnsRecord[], Map<string, DnsRecord[]>>();
  function glueOf(additionals: readonly DnsRecord[], name: string): DnsRecord[] {
    let index = glueIndex.get(additionals);
    if (!index) {
      index = new Map();
      for (const r of additionals) {
        if ((r.type !== TYPE.A && r.type !== TYPE.AAAA) || !r.address) continue;
        if (!o.addressTypes.includes(r.type === TYPE.A ? 'A' : 'AAAA')) continue;
        const owner = canonicalName(r.name);
        const list = index.get(owner);
        if (list) list.push(r);
        else index.set(owner, [r]);
      }
      glueIndex.set(additionals, index);
    }
    return index.get(name) ?? [];
  }

  /** A listing built only from one answer (no further query) is reused while that answer is cached. */
  const built = new WeakMap<DnsAnswer, { instances: ServiceInstance[]; ttl: number }>();
  type Ctx = { queried: boolean };

  async function addresses(
    target: string,
    additionals: readonly DnsRecord[],
    signal: AbortSignal,
    ctx?: Ctx,
  ) {
    const t = canonicalName(target);
    const wanted = glueOf(additionals, t);
    if (wanted.length > 0)
      return {
        list: wanted.map((r) => r.address as string),
        ttl: Math.min(...wanted.map((r) => r.ttl * 1000)),
      };
    if (ctx) ctx.queried = true;
    const answers = await Promise.all(o.addressTypes.map((type) => resolver.query(t, type, { signal })));
    return {
      list: answers.flatMap((a) => a.records.map((r) => r.address as string)),
      ttl: Math.min(...answers.map((a) => a.ttl)),
    };
  }

  async function listSrv(
    service: string,
    signal: AbortSignal,
  ): Promise<{ instances: ServiceInstance[]; ttl: number }> {
    const srv = await resolver.query(nameOf(service), 'SRV', { signal });
    const memo = built.get(srv);
    if (memo) return memo;
    const ctx: Ctx = { queried: false };
    let ttl = srv.ttl;
    const records = srv.records.filter((r) => r.target && r.target !== '.' && r.port);
    const priorities = [...new Set(records.map((r) => r.priority ?? 0))].sort((a, b) => a - b);
    const instances: ServiceInstance[] = [];
    for (const priority of priorities) {
      const group = records.filter((r) => (r.priority ?? 0) === priority);
      const resolved = await Promise.all(
        group.map((r) => addresses(r.target as string, srv.additionals, signal, ctx)),
      );
      group.forEach((r, i) => {
        const a = resolved[i] as { list: string[]; ttl: number };
        ttl = Math.min(ttl, a.ttl);
        for (const address of a.list) {
          instances.push(
            instance(service, address, r.port as number, r.weight ?? 1, {
              'dns.target': canonicalName(r.target as string),
              'dns.priority': String(priority),
            }),
          );
        }
      });
      if (o.priorities === 'lowest' && instances.length > 0) break;
    }
    const result = { instances: dedupe(instances), ttl };
    if (!ctx.queried) built.set(srv, frozen(result));
    return result;
  }

  async function listA(service: string, signal: AbortSignal) {
    const a = await addresses(nameOf(service), [], signal);
    return {
      instances: dedupe(a.list.map((ad) => instance(service, ad, o.port as number, 1, {}))),
      ttl: a.ttl,
    };
  }

  async function listDnsSd(service: string, signal: AbortSignal) {
    const ptr = await resolver.query(`_instances.${nameOf(service)}`, 'PTR', { signal });
    const memo = built.get(ptr);
    if (memo) return memo;
    const ctx: Ctx = { queried: false };
    let ttl = ptr.ttl;
    const instances = await Promise.all(
      ptr.records.map(async (r) => {
        const target = canonicalName(r.domain ?? '');
        const srv = await recordsAt(target, 'SRV', ptr, signal, ctx);
        const txt = await recordsAt(target, 'TXT', ptr, signal, ctx);
        ttl = Math.min(ttl, srv.ttl, txt.ttl);
        const s = srv.records[0];
        if (!s?.target || !s.port) return [];
        const fields = txtToInstanceFields(
          txt.records.flatMap((t) => (Array.isArray(t.data) ? t.data : [t.data ?? ''])),
        );
        const a = await addresses(s.target, ptr.additionals, signal, ctx);
        ttl = Math.min(ttl, a.ttl);
        return a.list.slice(0, 1).map((address) => ({
          id: fields.id ?? `${address}:${s.port}`,
          service,
          address,
          port: s.port as number,
          tags: fields.tags,
          metadata: fields.metadata,
          weight: fields.weight ?? s.weight ?? 1,
          ...(fields.zone === undefined ? {} : { zone: fields.zone }),
          ...(fields.region === undefined ? {} : { region: fields.region }),
          health: fields.health ?? 'passing',
        }));
      }),
    );
    const result = { instances: dedupe(instances.flat()), ttl };
    if (!ctx.queried) built.set(ptr, frozen(result));
    return result;
  }

  /** Records of `type` at `name`: from the browse answer's additional section, else a query. */
  async function recordsAt(name: string, type: QueryType, from: DnsAnswer, signal: AbortSignal, ctx: Ctx) {
    const code = type === 'SRV' ? TYPE.SRV : TYPE.TXT;
    const found = from.additionals.filter((r) => r.type === code && canonicalName(r.name) === name);
    if (found.length > 0) return { records: found, ttl: Math.min(...found.map((r) => r.ttl * 1000)) };
    ctx.queried = true;
    const a = await resolver.query(name, type, { signal });
    return { records: a.records, ttl: a.ttl };
  }

  const jittered = (ttl: number) => {
    const base = Math.min(Math.max(ttl, o.minRefresh), o.maxRefresh);
    return Math.round(base * (1 + Math.random() * 0.1)) + 5;
  };

  async function list(service: string, signal: AbortSignal): Promise<ServiceListing> {
    const r =
      o.mode === 'srv'
        ? await listSrv(service, signal)
        : o.mode === 'a'
          ? await listA(service, signal)
          : await listDnsSd(service, signal);
    return { instances: r.instances, refreshAfter: jittered(r.ttl) };
  }

  return defineDiscoveryBackend(
    {
      name: 'dns',
      capabilities: CAPABILITIES,
      list,
      async services(signal) {
        if (o.mode !== 'dns-sd') {
          const found = await Promise.all(
            o.services.map(async (s) => ((await list(s, signal)).instances.length > 0 ? s : undefined)),
          );
          return found.filter((s): s is string => s !== undefined);
        }
        const ptr = await resolver.query(`_services._dns-sd._udp.${zone}`, 'PTR', { signal });
        const suffix = `.${zone}`;
        // Keep the server's spelling of the name (DNS compares case-insensitively, services do not).
        return ptr.records
          .map((r) => (r.domain ?? '').replace(/\.$/, ''))
          .filter((d) => d.toLowerCase().endsWith(suffix))
          .map((d) => d.slice(0, -suffix.length));
      },
      async close() {
        if (!given) await resolver.close();
      },
    },
    { pkg: PKG, clock, backoff: o.backoff, requestTimeout: o.requestTimeout, ttl: DEFAULT_TTL.registration },
  );
}

function instance(
  service: string,
  address: string,
  port: number,
  weight: number,
  metadata: Record<string, string>,
): ServiceInstance {
  const host = isIP(address) === 6 ? `[${address}]` : address;
  return { id: `${host}:${port}`, service, address, port, tags: [], metadata, weight, health: 'passing' };
}

/** A shared listing cannot be changed by one caller under another. */
function frozen<T extends { instances: ServiceInstance[] }>(listing: T): T {
  for (const i of listing.instances) {
    Object.freeze(i.tags);
    Object.freeze(i.metadata);
    Object.freeze(i);
  }
  Object.freeze(listing.instances);
  return listing;
}

function dedupe(list: ServiceInstance[]): ServiceInstance[] {
  const seen = new Map<string, ServiceInstance>();
  for (const i of list) if (!seen.has(i.id)) seen.set(i.id, i);
  return [...seen.values()];
}

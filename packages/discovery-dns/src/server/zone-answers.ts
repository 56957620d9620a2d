import { isIP } from 'node:net';
import type { InstanceHealth, ServiceInstance } from '@switchyard/core';
import { CLASS_IN, type DnsRecord, RCODE, TYPE } from '../dns-message.js';
import { instanceLabel } from '../instance-label.js';
import { instanceToTxt } from '../instance-txt.js';
import type { RegistryView, ServiceView } from './registry-view.js';

export interface ZoneConfig {
  /** Canonical zone name (lower case, no trailing dot). */
  readonly zone: string;
  /** Answer TTL, s. */
  readonly ttl: number;
  /** Negative TTL (SOA TTL and MINIMUM), s. */
  readonly negativeTtl: number;
  /** Health states served in service-level answers (A/AAAA/SRV of the service). */
  readonly healthy: ReadonlySet<InstanceHealth>;
  /** At most this many records in a service-level answer (after rotation). */
  readonly maxAnswers: number;
  readonly serial: number;
}

/** Where a name in the zone points. */
export type Located =
  | { readonly kind: 'apex' }
  | { readonly kind: 'services' }
  | { readonly kind: 'none' }
  | { readonly kind: 'unavailable' }
  | { readonly kind: 'service'; readonly view: ServiceView; readonly sub: readonly string[] };

export interface ZoneResult {
  rcode: number;
  answers: DnsRecord[];
  authorities: DnsRecord[];
  additionals: DnsRecord[];
  /** How many orders the answer rotates through (1: no rotation). */
  variants: number;
}

const SERVICES_NAME = '_services._dns-sd._udp';

/** Finds the service a name belongs to: the longest service name that is a suffix of the name. */
function split(registry: RegistryView, rel: string): { service: string; sub: string[] } | undefined {
  const labels = rel.split('.');
  for (let i = 0; i < labels.length; i++) {
    const service = labels.slice(i).join('.');
    if (registry.has(service)) return { service, sub: labels.slice(0, i) };
  }
  return undefined;
}

/**
 * Locates `qname` (canonical, inside the zone). A name that is no known service refreshes the
 * service list once (rate-limited) before it is declared absent.
 */
export async function locate(registry: RegistryView, zone: string, qname: string): Promise<Located> {
  if (qname === zone) return { kind: 'apex' };
  const rel = qname.slice(0, -(zone.length + 1));
  if (rel === SERVICES_NAME) {
    await registry.refreshKnown();
    return { kind: 'services' };
  }
  let found = split(registry, rel);
  if (!found) {
    await registry.refreshKnown();
    found = split(registry, rel);
  }
  if (!found) return registry.listFailed ? { kind: 'unavailable' } : { kind: 'none' };
  const view = registry.peek(found.service) ?? (await registry.view(found.service));
  if (!view) return registry.has(found.service) ? { kind: 'unavailable' } : { kind: 'none' };
  return { kind: 'service', view, sub: found.sub };
}

/** A sync fast path for `locate` when the service is watched and ready. */
export function locateCached(registry: RegistryView, zone: string, qname: string): Located | undefined {
  if (qname === zone || !qname.endsWith(zone)) return undefined;
  const rel = qname.slice(0, -(zone.length + 1));
  if (rel === SERVICES_NAME) return undefined;
  const found = split(registry, rel);
  if (!found) return undefined;
  const view = registry.peek(found.service);
  return view ? { kind: 'service', view, sub: found.sub } : undefined;
}

/** A cache tag: answers built for one tag are valid while the tag is unchanged. */
export function tagOf(located: Located, registry: RegistryView): string {
  switch (located.kind) {
    case 'service':
      return `s:${located.view.service}:${located.view.version}`;
    case 'services':
    case 'none':
      return `k:${registry.knownVersion}`;
    default:
      return located.kind;
  }
}

export function soaRecord(cfg: ZoneConfig): DnsRecord {
  return {
    name: cfg.zone,
    type: TYPE.SOA,
    class: CLASS_IN,
    ttl: cfg.negativeTtl,
    primary: `ns.${cfg.zone}`,
    admin: `hostmaster.${cfg.zone}`,
    serial: cfg.serial,
    refresh: 3600,
    retry: 600,
    expiration: 86_400,
    minimum: cfg.negativeTtl,
  };
}

function negative(cfg: ZoneConfig, rcode: number): ZoneResult {
  return { rcode, answers: [], authorities: [soaRecord(cfg)], additionals: [], variants: 1 };
}

function rotate<T>(list: readonly T[], by: number, max: number): T[] {
  if (list.length === 0) return [];
  const k = by % list.length;
  return [...list.slice(k), ...list.slice(0, k)].slice(0, max);
}

/** Builds the answer for a located name and type; `rotation` picks one of `variants` orders. */
export function buildAnswer(
  located: Located,
  qtype: number,
  cfg: ZoneConfig,
  registry: RegistryView,
  rotation: number,
): ZoneResult {
  const { zone, ttl } = cfg;
  if (located.kind === 'unavailable')
    return { rcode: RCODE.SERVFAIL, answers: [], authorities: [], additionals: [], variants: 1 };
  if (located.kind === 'none') return negative(cfg, RCODE.NXDOMAIN);
  if (located.kind === 'apex') {
    if (qtype === TYPE.SOA)
      return {
        rcode: RCODE.NOERROR,
        answers: [soaRecord(cfg)],
        authorities: [],
        additionals: [],
        variants: 1,
      };
    return negative(cfg, RCODE.NOERROR);
  }
  if (located.kind === 'services') {
    if (qtype !== TYPE.PTR) return negative(cfg, RCODE.NOERROR);
    const live = registry.known.filter((s) => (registry.peek(s.toLowerCase())?.instances.length ?? 1) > 0);
    const answers = live.sort().map((s) => ptr(`${SERVICES_NAME}.${zone}`, `${s}.${zone}`, ttl));
    return { rcode: RCODE.NOERROR, answers, authorities: [], additionals: [], variants: 1 };
  }
  const { view, sub } = located;
  const base = `${view.service}.${zone}`;
  const all = view.instances;
  if (all.length === 0) return negative(cfg, RCODE.NXDOMAIN);
  const targetOf = (i: ServiceInstance) => (isIP(i.address) ? `${instanceLabel(i.id)}.${base}` : i.address);
  const glue = (list: readonly ServiceInstance[]) => list.flatMap((i) => addressRecords(targetOf(i), i, ttl));
  const ok = (answers: DnsRecord[], additionals: DnsRecord[] = [], variants = 1): ZoneResult =>
    answers.length === 0
      ? negative(cfg, RCODE.NOERROR)
      : { rcode: RCODE.NOERROR, answers, authorities: [], additionals, variants };

  if (
    sub.length === 0 ||
    (sub.length === 2 && sub[1] && /^_(tcp|udp)$/.test(sub[1]) && sub[0]?.startsWith('_'))
  ) {
    const tag = sub.length === 2 ? (sub[0] as string).slice(1) : undefined;
    const healthy = all.filter(
      (i) => cfg.healthy.has(i.health) && (tag === undefined || i.tags.includes(tag)),
    );
    if (healthy.length === 0)
      return tag === undefined ? negative(cfg, RCODE.NOERROR) : negative(cfg, RCODE.NXDOMAIN);
    const qname = sub.length === 0 ? base : `${sub.join('.')}.${base}`;
    const n = healthy.length;
    const ordered = rotate(healthy, rotation, cfg.maxAnswers);
    if (qtype === TYPE.A || qtype === TYPE.AAAA) {
      const family = qtype === TYPE.A ? 4 : 6;
      return ok(
        ordered.filter((i) => isIP(i.address) === family).map((i) => address(qname, i.address, ttl)),
        [],
        n,
      );
    }
    if (qtype === TYPE.SRV)
      return ok(
        ordered.map((i) => srv(qname, i, targetOf(i), ttl)),
        glue(ordered),
        n,
      );
    return negative(cfg, RCODE.NOERROR);
  }
  if (sub.length === 1 && sub[0] === '_instances') {
    if (qtype !== TYPE.PTR) return negative(cfg, RCODE.NOERROR);
    const name = `_instances.${base}`;
    const answers = all.map((i) => ptr(name, `${instanceLabel(i.id)}.${base}`, ttl));
    const additionals = all.flatMap((i) => {
      const own = `${instanceLabel(i.id)}.${base}`;
      return [srv(own, i, targetOf(i), ttl), txt(own, i, ttl), ...addressRecords(targetOf(i), i, ttl)];
    });
    return ok(answers, additionals);
  }
  if (sub.length === 1) {
    const i = all.find((x) => instanceLabel(x.id) === sub[0]);
    if (!i) return negative(cfg, RCODE.NXDOMAIN);
    const own = `${sub[0]}.${base}`;
    if (qtype === TYPE.A || qtype === TYPE.AAAA) {
      const family = qtype === TYPE.A ? 4 : 6;
      return ok(isIP(i.address) === family ? [address(own, i.address, ttl)] : []);
    }
    if (qtype === TYPE.SRV) return ok([srv(own, i, targetOf(i), ttl)], addressRecords(targetOf(i), i, ttl));
    if (qtype === TYPE.TXT) return ok([txt(own, i, ttl)]);
    return negative(cfg, RCODE.NOERROR);
  }
  return negative(cfg, RCODE.NXDOMAIN);
}

function addressRecords(name: string, i: ServiceInstance, ttl: number): DnsRecord[] {
  return isIP(i.address) ? [address(name, i.address, ttl)] : [];
}

function address(name: string, ip: string, ttl: number): DnsRecord {
  return { name, type: isIP(ip) === 6 ? TYPE.AAAA : TYPE.A, class: CLASS_IN, ttl, address: ip };
}

function srv(name: string, i: ServiceInstance, target: string, ttl: number): DnsRecord {
  const weight = Math.max(0, Math.min(65_535, Math.round(i.weight)));
  return { name, type: TYPE.SRV, class: CLASS_IN, ttl, priority: 10, weight, port: i.port, target };
}

function txt(name: string, i: ServiceInstance, ttl: number): DnsRecord {
  return { name, type: TYPE.TXT, class: CLASS_IN, ttl, data: instanceToTxt(i) };
}

function ptr(name: string, domain: string, ttl: number): DnsRecord {
  return { name, type: TYPE.PTR, class: CLASS_IN, ttl, domain };
}

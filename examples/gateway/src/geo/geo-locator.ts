import { readFileSync } from 'node:fs';
import { invalidArgument } from '@switchyard/core';
import { Reader } from 'mmdb-lib';
import { PKG } from '../routes/route-config.js';

export interface Locality {
  readonly zone?: string;
  readonly region?: string;
}

/** A GeoIP record as MaxMind-format databases carry it (the fields we read). */
export interface GeoRecord {
  continent?: { code?: string };
  country?: { iso_code?: string };
  subdivisions?: { iso_code?: string }[];
  /** Custom databases may carry the locality directly. */
  switchyard?: { zone?: string; region?: string };
  [key: string]: unknown;
}

export interface GeoLocatorOptions {
  /** A MaxMind DB (GeoLite2/GeoIP2 City or Country, or a custom one): a path or the file's bytes. */
  database: string | Buffer;
  /**
   * Record → caller locality for the balancer's tiers. Default: `switchyard.zone/region` when the
   * record has them, else region = continent code (`EU`), zone = country ISO code (`DE`).
   */
  locality?: (record: GeoRecord) => Locality | undefined;
  /** Lookups cached per IP (bounded). Default 10 000. */
  cacheSize?: number;
}

export interface GeoLocator {
  /** The caller locality for an IP (IPv4, IPv6, IPv4-mapped IPv6), or undefined when unknown. */
  locate(ip: string | undefined): Locality | undefined;
}

function defaultLocality(r: GeoRecord): Locality | undefined {
  if (r.switchyard?.zone || r.switchyard?.region) return r.switchyard;
  const region = r.continent?.code;
  const zone = r.country?.iso_code;
  if (!region && !zone) return undefined;
  return { ...(zone ? { zone } : {}), ...(region ? { region } : {}) };
}

/** GeoIP → locality with `mmdb-lib` (MaxMind's format, read in process; no network). */
export function createGeoLocator(options: GeoLocatorOptions): GeoLocator {
  const bytes = typeof options.database === 'string' ? readFileSync(options.database) : options.database;
  if (!Buffer.isBuffer(bytes)) throw invalidArgument(PKG, 'geo.database', 'must be a path or a Buffer');
  let reader: { get(ip: string): GeoRecord | null };
  try {
    reader = new Reader(bytes) as unknown as { get(ip: string): GeoRecord | null };
  } catch (cause) {
    throw invalidArgument(
      PKG,
      'geo.database',
      `is not a MaxMind DB (${cause instanceof Error ? cause.message : String(cause)})`,
    );
  }
  const map = options.locality ?? defaultLocality;
  const max = options.cacheSize ?? 10_000;
  const cache = new Map<string, Locality | null>();
  return {
    locate(ip) {
      if (!ip) return undefined;
      const hit = cache.get(ip);
      if (hit !== undefined) return hit ?? undefined;
      const plain = ip.startsWith('::ffff:') && ip.includes('.') ? ip.slice(7) : ip;
      let found: Locality | undefined;
      try {
        const record = reader.get(plain);
        found = record ? map(record) : undefined;
      } catch {
        found = undefined; // an IPv6 address against an IPv4-only database, or a malformed IP
      }
      if (cache.size >= max) cache.delete(cache.keys().next().value as string);
      cache.set(ip, found ?? null);
      return found;
    },
  };
}

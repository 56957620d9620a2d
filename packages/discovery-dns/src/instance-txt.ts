import type { InstanceHealth, ServiceInstance } from '@switchyard/core';

/** One TXT character-string holds at most 255 octets (RFC 1035 §3.3). */
const MAX_STRING = 255;
const HEALTH: readonly InstanceHealth[] = ['passing', 'warning', 'critical', 'maintenance'];

/**
 * The DNS-SD TXT form of an instance (RFC 6763 §6: one `key=value` per string): `id`, `health`,
 * `weight`, `zone`, `region`, one `tag=` per tag (order kept) and `meta.<key>=` per metadata entry.
 * A string longer than 255 octets continues in `<key>+=` strings.
 */
export function instanceToTxt(i: ServiceInstance): string[] {
  const pairs: [string, string][] = [
    ['id', i.id],
    ['health', i.health],
    ['weight', String(i.weight)],
  ];
  if (i.zone !== undefined) pairs.push(['zone', i.zone]);
  if (i.region !== undefined) pairs.push(['region', i.region]);
  for (const t of i.tags) pairs.push(['tag', t]);
  for (const [k, v] of Object.entries(i.metadata)) pairs.push([`meta.${k}`, v]);
  const out: string[] = [];
  for (const [k, v] of pairs) out.push(...split(k, v));
  return out;
}

function split(key: string, value: string): string[] {
  const first = `${key}=${value}`;
  if (Buffer.byteLength(first) <= MAX_STRING) return [first];
  const out: string[] = [];
  const bytes = Buffer.from(value);
  let at = 0;
  let prefix = Buffer.from(`${key}=`);
  while (at < bytes.length || out.length === 0) {
    let end = Math.min(bytes.length, at + MAX_STRING - prefix.length);
    // Never split inside a UTF-8 sequence.
    while (end < bytes.length && end > at && ((bytes[end] as number) & 0xc0) === 0x80) end--;
    out.push(prefix.toString() + bytes.subarray(at, end).toString());
    at = end;
    prefix = Buffer.from(`${key}+=`);
  }
  return out;
}

/** What the TXT strings say about an instance (fields absent from the TXT stay undefined). */
export interface TxtInstanceFields {
  id?: string;
  health?: InstanceHealth;
  weight?: number;
  zone?: string;
  region?: string;
  tags: string[];
  metadata: Record<string, string>;
}

export function txtToInstanceFields(strings: readonly string[]): TxtInstanceFields {
  const out: TxtInstanceFields = { tags: [], metadata: {} };
  let last: { key: string; apply: (v: string) => void } | undefined;
  for (const s of strings) {
    const eq = s.indexOf('=');
    if (eq <= 0) continue;
    let key = s.slice(0, eq);
    const value = s.slice(eq + 1);
    if (key.endsWith('+')) {
      key = key.slice(0, -1);
      if (last?.key === key) last.apply(value);
      continue;
    }
    last = fieldSetter(out, key, value);
  }
  return out;
}

function fieldSetter(
  out: TxtInstanceFields,
  key: string,
  value: string,
): { key: string; apply: (v: string) => void } | undefined {
  switch (key) {
    case 'id':
      out.id = value;
      return { key, apply: (v) => (out.id = `${out.id}${v}`) };
    case 'health':
      if ((HEALTH as readonly string[]).includes(value)) out.health = value as InstanceHealth;
      return undefined;
    case 'weight': {
      const w = Number(value);
      if (Number.isFinite(w) && w >= 0) out.weight = w;
      return undefined;
    }
    case 'zone':
      out.zone = value;
      return { key, apply: (v) => (out.zone = `${out.zone}${v}`) };
    case 'region':
      out.region = value;
      return { key, apply: (v) => (out.region = `${out.region}${v}`) };
    case 'tag': {
      const index = out.tags.push(value) - 1;
      return { key, apply: (v) => (out.tags[index] = `${out.tags[index]}${v}`) };
    }
    default:
      if (key.startsWith('meta.') && key.length > 5) {
        const k = key.slice(5);
        out.metadata[k] = value;
        return { key, apply: (v) => (out.metadata[k] = `${out.metadata[k]}${v}`) };
      }
      return undefined;
  }
}

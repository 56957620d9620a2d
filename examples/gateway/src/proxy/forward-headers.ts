import type { IncomingHttpHeaders } from 'node:http';

/** Hop-by-hop headers (RFC 9110 §7.6.1) that a proxy must not forward. */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'te',
  'trailer',
  'upgrade',
  'proxy-authenticate',
  'proxy-authorization',
  'http2-settings',
]);

function connectionTokens(value: string | undefined): Set<string> | undefined {
  if (!value) return undefined;
  const set = new Set<string>();
  for (const t of value.split(',')) {
    const v = t.trim().toLowerCase();
    if (v && v !== 'close' && v !== 'keep-alive') set.add(v);
  }
  return set.size ? set : undefined;
}

export interface ForwardedFor {
  clientIp: string | undefined;
  proto: 'http' | 'https';
  /** Keep these request headers out (in addition to hop-by-hop ones). */
  drop?: ReadonlySet<string>;
}

/**
 * The request headers to send upstream, as undici's flat `[name, value, …]` array: hop-by-hop
 * headers removed (and those the Connection header names), X-Forwarded-For/-Proto/-Host set.
 */
export function upstreamRequestHeaders(
  raw: readonly string[],
  connection: string | undefined,
  fwd: ForwardedFor,
): string[] {
  const named = connectionTokens(connection);
  const out: string[] = [];
  let xff: string | undefined;
  let host: string | undefined;
  let sawProto = false;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    const lower = name.toLowerCase();
    if (HOP_BY_HOP.has(lower) || named?.has(lower) || fwd.drop?.has(lower)) continue;
    if (lower === 'x-forwarded-for') {
      xff = xff === undefined ? raw[i + 1]! : `${xff}, ${raw[i + 1]!}`;
      continue;
    }
    if (lower === 'host') host = raw[i + 1];
    else if (lower === 'x-forwarded-proto') sawProto = true;
    out.push(name, raw[i + 1]!);
  }
  if (fwd.clientIp !== undefined)
    out.push('x-forwarded-for', xff === undefined ? fwd.clientIp : `${xff}, ${fwd.clientIp}`);
  else if (xff !== undefined) out.push('x-forwarded-for', xff);
  if (!sawProto) out.push('x-forwarded-proto', fwd.proto);
  if (host !== undefined) out.push('x-forwarded-host', host);
  return out;
}

/** Response headers from upstream minus hop-by-hop ones (mutates and returns the object). */
export function downstreamResponseHeaders(
  headers: IncomingHttpHeaders | Record<string, string | string[] | undefined>,
) {
  const named = connectionTokens(headers.connection as string | undefined);
  for (const h of HOP_BY_HOP) delete headers[h];
  if (named) for (const h of named) delete headers[h];
  return headers;
}

import { invalidArgument, SwitchyardError } from '@switchyard/core';

export const PKG = 'gateway';

export type PickerName = 'least-request' | 'round-robin' | 'peak-ewma' | 'ring-hash' | 'maglev' | 'random';
export type StickyBy = 'cookie' | 'ip' | 'header' | 'user';

/**
 * Session affinity for a route: the key comes from a cookie, the client IP or a header; `user`
 * asks `@switchyard/stateful-route` which pod serves the user (id from `header`).
 */
export interface StickyConfig {
  readonly by: StickyBy;
  /** Cookie or header name (cookie default `sy_session`; required for `header`). */
  readonly name?: string;
  /** For `user`: the request header carrying the user id. Default `x-user-id`. */
  readonly header?: string;
  /** For `user`: the stateful-route namespace (tenant) of the link. Default `default`. */
  readonly namespace?: string;
  /** Idle time after which a session forgets its upstream, ms. Default 30 min. */
  readonly sessionTimeout?: number;
}

/** One route: requests whose host and path match go to `service`. */
export interface RouteConfig {
  readonly name: string;
  /** Exact host (`api.example.com`), a wildcard (`*.example.com`) or absent (any host). */
  readonly host?: string;
  /** Path prefix, matched on segment boundaries (default `/`). */
  readonly pathPrefix?: string;
  /** Remove the prefix before forwarding. Default false. */
  readonly stripPrefix?: boolean;
  readonly service: string;
  readonly picker?: PickerName;
  /** For `ring-hash`/`maglev`: the request header whose value is the hash key. */
  readonly hashHeader?: string;
  readonly sticky?: StickyConfig;
  /** Per-try deadline for the upstream's response headers, ms. Default 10 000. */
  readonly timeout?: number;
  /** Retries on another instance (idempotent, body-less requests; within the retry budget). Default 2. */
  readonly retries?: number;
  /** Upstream protocol: `http1` (default; undici keep-alive pools) or `h2c` (HTTP/2 with prior knowledge, e.g. gRPC). */
  readonly protocol?: UpstreamProtocol;
}

export type UpstreamProtocol = 'http1' | 'h2c';

export interface GatewayRoutes {
  readonly routes: readonly RouteConfig[];
}

const PICKERS: readonly PickerName[] = [
  'least-request',
  'round-robin',
  'peak-ewma',
  'ring-hash',
  'maglev',
  'random',
];
const STICKY: readonly StickyBy[] = ['cookie', 'ip', 'header', 'user'];
const STICKY_KEYS = new Set(['by', 'name', 'sessionTimeout', 'header', 'namespace']);
export const DEFAULT_USER_HEADER = 'x-user-id';
const KNOWN_ROUTE_KEYS = new Set([
  'name',
  'host',
  'pathPrefix',
  'stripPrefix',
  'service',
  'picker',
  'hashHeader',
  'sticky',
  'timeout',
  'retries',
  'protocol',
]);
const TOKEN = /^[A-Za-z0-9._-]{1,128}$/;
const HOST = /^(\*\.)?[A-Za-z0-9.-]{1,253}(:\d{1,5})?$/;

function str(field: string, v: unknown, pattern: RegExp, hint: string): string {
  if (typeof v !== 'string' || !pattern.test(v))
    throw invalidArgument(PKG, field, `must be ${hint}, got ${JSON.stringify(v)}`);
  return v;
}

function int(field: string, v: unknown, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max)
    throw invalidArgument(PKG, field, `must be an integer in ${min}..${max}, got ${JSON.stringify(v)}`);
  return v;
}

function parseSticky(at: string, v: unknown): StickyConfig {
  if (typeof v !== 'object' || v === null)
    throw invalidArgument(PKG, at, 'must be an object { by, name?, sessionTimeout? }');
  const s = v as Record<string, unknown>;
  if (!STICKY.includes(s.by as StickyBy))
    throw invalidArgument(
      PKG,
      `${at}.by`,
      `must be one of ${STICKY.join(', ')}, got ${JSON.stringify(s.by)}`,
    );
  const by = s.by as StickyBy;
  if (by === 'header' && s.name === undefined)
    throw invalidArgument(PKG, `${at}.name`, 'is required when by is "header"');
  for (const key of Object.keys(s))
    if (!STICKY_KEYS.has(key) || (by !== 'user' && (key === 'header' || key === 'namespace')))
      throw invalidArgument(
        PKG,
        `${at}.${key}`,
        `is not a sticky option${by !== 'user' ? ` for by "${by}"` : ''}`,
      );
  if (by === 'user')
    return {
      by,
      header: (s.header === undefined
        ? DEFAULT_USER_HEADER
        : str(`${at}.header`, s.header, /^[A-Za-z0-9_-]{1,64}$/, 'a header name')
      ).toLowerCase(),
      namespace:
        s.namespace === undefined
          ? 'default'
          : str(`${at}.namespace`, s.namespace, TOKEN, 'a namespace of letters, digits, ".", "_", "-"'),
      ...(s.sessionTimeout !== undefined
        ? { sessionTimeout: int(`${at}.sessionTimeout`, s.sessionTimeout, 1, 7 * 24 * 3600e3) }
        : {}),
    };
  return {
    by,
    ...(s.name !== undefined
      ? { name: str(`${at}.name`, s.name, /^[A-Za-z0-9_-]{1,64}$/, 'a cookie/header name') }
      : {}),
    ...(s.sessionTimeout !== undefined
      ? { sessionTimeout: int(`${at}.sessionTimeout`, s.sessionTimeout, 1, 7 * 24 * 3600e3) }
      : {}),
  };
}

/** Validates a route table (from JSON or code); throws INVALID_ARGUMENT naming the field. */
export function parseRoutes(input: unknown): GatewayRoutes {
  if (typeof input !== 'object' || input === null || !Array.isArray((input as { routes?: unknown }).routes))
    throw invalidArgument(PKG, 'routes', 'must be an array of routes');
  const names = new Set<string>();
  const routes = (input as { routes: unknown[] }).routes.map((raw, i): RouteConfig => {
    const at = `routes[${i}]`;
    if (typeof raw !== 'object' || raw === null) throw invalidArgument(PKG, at, 'must be an object');
    const r = raw as Record<string, unknown>;
    for (const key of Object.keys(r))
      if (!KNOWN_ROUTE_KEYS.has(key)) throw invalidArgument(PKG, `${at}.${key}`, 'is not a route option');
    const name = str(`${at}.name`, r.name, TOKEN, 'a name of letters, digits, ".", "_", "-"');
    if (names.has(name)) throw invalidArgument(PKG, `${at}.name`, `duplicates route "${name}"`);
    names.add(name);
    const pathPrefix =
      r.pathPrefix === undefined
        ? '/'
        : str(`${at}.pathPrefix`, r.pathPrefix, /^\/[^\s?#]*$/, 'a path starting with "/"');
    if (r.stripPrefix !== undefined && typeof r.stripPrefix !== 'boolean')
      throw invalidArgument(PKG, `${at}.stripPrefix`, 'must be a boolean');
    if (r.picker !== undefined && !PICKERS.includes(r.picker as PickerName))
      throw invalidArgument(
        PKG,
        `${at}.picker`,
        `must be one of ${PICKERS.join(', ')}, got ${JSON.stringify(r.picker)}`,
      );
    if (r.protocol !== undefined && r.protocol !== 'http1' && r.protocol !== 'h2c')
      throw invalidArgument(
        PKG,
        `${at}.protocol`,
        `must be "http1" or "h2c", got ${JSON.stringify(r.protocol)}`,
      );
    return {
      name,
      ...(r.host !== undefined
        ? { host: str(`${at}.host`, r.host, HOST, 'a host name or *.domain').toLowerCase() }
        : {}),
      pathPrefix: pathPrefix.length > 1 && pathPrefix.endsWith('/') ? pathPrefix.slice(0, -1) : pathPrefix,
      stripPrefix: r.stripPrefix === true,
      service: str(`${at}.service`, r.service, TOKEN, 'a service name'),
      ...(r.picker !== undefined ? { picker: r.picker as PickerName } : {}),
      ...(r.hashHeader !== undefined
        ? {
            hashHeader: str(
              `${at}.hashHeader`,
              r.hashHeader,
              /^[A-Za-z0-9_-]{1,64}$/,
              'a header name',
            ).toLowerCase(),
          }
        : {}),
      ...(r.sticky !== undefined ? { sticky: parseSticky(`${at}.sticky`, r.sticky) } : {}),
      ...(r.timeout !== undefined ? { timeout: int(`${at}.timeout`, r.timeout, 1, 3600e3) } : {}),
      ...(r.retries !== undefined ? { retries: int(`${at}.retries`, r.retries, 0, 10) } : {}),
      ...(r.protocol !== undefined ? { protocol: r.protocol as UpstreamProtocol } : {}),
    };
  });
  return { routes };
}

export function routeSourceError(what: string, cause: unknown): SwitchyardError {
  const detail = cause instanceof Error ? `: ${cause.message}` : '';
  return new SwitchyardError('BACKEND_UNAVAILABLE', `[${PKG}] ${what}${detail}`, { cause });
}

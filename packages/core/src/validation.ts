import { invalidArgument } from './errors.js';
import type { Clock } from './primitives/clock.js';

/**
 * Input validation used by every package. Each helper throws `INVALID_ARGUMENT` naming the field,
 * and returns the value (narrowed) so it can be used inline.
 */

const SERVICE_NAME = /^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,251}[A-Za-z0-9])?$/;
const INSTANCE_ID = /^[A-Za-z0-9._:@-]{1,253}$/;
/** Upper bound for any TTL/lease/timeout: 30 days. Anything larger is almost certainly a unit mistake. */
export const MAX_DURATION_MS = 30 * 24 * 3600 * 1000;

export function assertString(pkg: string, field: string, value: unknown): string {
  if (typeof value !== 'string')
    throw invalidArgument(pkg, field, `must be a string, got ${describe(value)}`);
  return value;
}

export function assertNonEmptyString(pkg: string, field: string, value: unknown, maxLength = 1024): string {
  assertString(pkg, field, value);
  const s = value as string;
  if (s.length === 0) throw invalidArgument(pkg, field, 'must not be empty');
  if (s.length > maxLength) throw invalidArgument(pkg, field, `must be at most ${maxLength} characters`);
  return s;
}

/** DNS-label-like names: letters, digits, `.`, `_`, `-`; must start and end with a letter or digit. */
export function assertServiceName(pkg: string, field: string, value: unknown): string {
  const s = assertNonEmptyString(pkg, field, value, 253);
  if (!SERVICE_NAME.test(s)) {
    throw invalidArgument(
      pkg,
      field,
      `must match ${SERVICE_NAME} (letters, digits, ".", "_", "-"), got ${JSON.stringify(s)}`,
    );
  }
  return s;
}

export function assertInstanceId(pkg: string, field: string, value: unknown): string {
  const s = assertNonEmptyString(pkg, field, value, 253);
  if (!INSTANCE_ID.test(s)) {
    throw invalidArgument(
      pkg,
      field,
      `must be 1-253 characters of letters, digits, ".", "_", ":", "@", "-", got ${JSON.stringify(s)}`,
    );
  }
  return s;
}

/** A lock/cache/config key: non-empty, at most `maxLength`, no NUL. */
export function assertKey(pkg: string, field: string, value: unknown, maxLength = 1024): string {
  const s = assertNonEmptyString(pkg, field, value, maxLength);
  if (s.includes('\u0000')) throw invalidArgument(pkg, field, 'must not contain NUL characters');
  return s;
}

export function assertPort(pkg: string, field: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > 65535) {
    throw invalidArgument(pkg, field, `must be an integer in 1..65535, got ${describe(value)}`);
  }
  return value;
}

/**
 * An IPv4/IPv6 literal or a hostname a client can connect to: the unspecified addresses (`0.0.0.0`,
 * `::`) are refused, and a name whose last label is all digits must be a valid IPv4 address.
 */
export function assertAddress(pkg: string, field: string, value: unknown): string {
  const s = assertNonEmptyString(pkg, field, value, 253);
  if (s === '0.0.0.0' || s === '::' || s === '[::]' || /^0+(:0+)*::?$/.test(s)) {
    throw invalidArgument(
      pkg,
      field,
      `must be an address a client can reach, not the unspecified ${JSON.stringify(s)}`,
    );
  }
  if (isIPv4(s) || isIPv6(s) || isHostname(s)) return s;
  throw invalidArgument(pkg, field, `must be an IP address or a hostname, got ${JSON.stringify(s)}`);
}

/** A duration in milliseconds: finite, > 0 (or >= 0 with `allowZero`), within `min`..`max` (default 30 days). */
export function assertDuration(
  pkg: string,
  field: string,
  value: unknown,
  opts: { allowZero?: boolean; min?: number; max?: number } = {},
): number {
  const max = opts.max ?? MAX_DURATION_MS;
  if (typeof value !== 'number' || Number.isNaN(value)) {
    throw invalidArgument(pkg, field, `must be a number of milliseconds, got ${describe(value)}`);
  }
  if (opts.min !== undefined && opts.min > 0) {
    if (value < opts.min && !(value === 0 && opts.allowZero)) {
      const zero = opts.allowZero ? ' (or 0)' : '';
      throw invalidArgument(pkg, field, `must be at least ${opts.min} ms${zero}, got ${value}`);
    }
  } else if (value < 0 || (value === 0 && !opts.allowZero)) {
    throw invalidArgument(pkg, field, `must be ${opts.allowZero ? '>= 0' : '> 0'} ms, got ${value}`);
  }
  if (value > max) throw invalidArgument(pkg, field, `must be at most ${max} ms, got ${value}`);
  return value;
}

/** A wait bound: >= 0 ms, or `Infinity` to wait until aborted. */
export function assertWait(pkg: string, field: string, value: unknown): number {
  if (value === Number.POSITIVE_INFINITY) return value;
  return assertDuration(pkg, field, value, { allowZero: true });
}

export function assertInteger(
  pkg: string,
  field: string,
  value: unknown,
  min: number,
  max = Number.MAX_SAFE_INTEGER,
): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw invalidArgument(pkg, field, `must be an integer in ${min}..${max}, got ${describe(value)}`);
  }
  return value;
}

export function assertNumberInRange(
  pkg: string,
  field: string,
  value: unknown,
  min: number,
  max: number,
): number {
  if (typeof value !== 'number' || Number.isNaN(value) || value < min || value > max) {
    throw invalidArgument(pkg, field, `must be a number in ${min}..${max}, got ${describe(value)}`);
  }
  return value;
}

export function assertWeight(pkg: string, field: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw invalidArgument(pkg, field, `must be a finite number >= 0, got ${describe(value)}`);
  }
  return value;
}

export function assertStringRecord(pkg: string, field: string, value: unknown): Record<string, string> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw invalidArgument(pkg, field, `must be an object of strings, got ${describe(value)}`);
  }
  for (const [k, v] of Object.entries(value)) {
    if (typeof v !== 'string')
      throw invalidArgument(pkg, `${field}.${k}`, `must be a string, got ${describe(v)}`);
  }
  return value as Record<string, string>;
}

export function assertStringArray(pkg: string, field: string, value: unknown): string[] {
  if (!Array.isArray(value))
    throw invalidArgument(pkg, field, `must be an array of strings, got ${describe(value)}`);
  value.forEach((v, i) => {
    if (typeof v !== 'string')
      throw invalidArgument(pkg, `${field}[${i}]`, `must be a string, got ${describe(v)}`);
  });
  return value as string[];
}

export function assertSignal(pkg: string, field: string, value: unknown): AbortSignal | undefined {
  if (value === undefined) return undefined;
  if (!(value instanceof AbortSignal))
    throw invalidArgument(pkg, field, `must be an AbortSignal, got ${describe(value)}`);
  return value;
}

export function assertBoolean(pkg: string, field: string, value: unknown): boolean {
  if (typeof value !== 'boolean')
    throw invalidArgument(pkg, field, `must be true or false, got ${describe(value)}`);
  return value;
}

/** A plain object (not null, not an array, not a class instance such as a Date or a Map). */
export function assertPlainObject(pkg: string, field: string, value: unknown): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw invalidArgument(pkg, field, `must be an object, got ${describe(value)}`);
  }
  const proto = Object.getPrototypeOf(value);
  if (proto !== null && proto !== Object.prototype && Object.getPrototypeOf(proto) !== null) {
    throw invalidArgument(pkg, field, `must be a plain object, got ${describe(value)}`);
  }
  return value as Record<string, unknown>;
}

/** A `Clock` (now, monotonic, setTimeout, clearTimeout). */
export function assertClock(pkg: string, field: string, value: unknown): Clock {
  const c = value as Partial<Clock> | null;
  if (
    typeof c !== 'object' ||
    c === null ||
    typeof c.now !== 'function' ||
    typeof c.monotonic !== 'function' ||
    typeof c.setTimeout !== 'function' ||
    typeof c.clearTimeout !== 'function'
  ) {
    throw invalidArgument(
      pkg,
      field,
      `must be a Clock (now, monotonic, setTimeout, clearTimeout), got ${describe(value)}`,
    );
  }
  return c as Clock;
}

/** A URL whose protocol is one of `protocols` (with the colon: `redis:`). */
export function assertUrl(pkg: string, field: string, value: unknown, protocols: readonly string[]): string {
  const s = assertNonEmptyString(pkg, field, value, 4096);
  let url: URL;
  try {
    url = new URL(s);
  } catch {
    throw invalidArgument(pkg, field, `must be a URL like ${protocols[0]}//host:port, got ${describe(s)}`);
  }
  if (!protocols.includes(url.protocol)) {
    throw invalidArgument(pkg, field, `must use ${protocols.join(' or ')}, got ${describe(url.protocol)}`);
  }
  if (url.hostname === '') throw invalidArgument(pkg, field, `must name a host, got ${describe(s)}`);
  return s;
}

export function assertFunction<T extends (...args: never[]) => unknown>(
  pkg: string,
  field: string,
  value: unknown,
): T {
  if (typeof value !== 'function')
    throw invalidArgument(pkg, field, `must be a function, got ${describe(value)}`);
  return value as T;
}

export function assertOneOf<T extends string>(
  pkg: string,
  field: string,
  value: unknown,
  allowed: readonly T[],
): T {
  if (typeof value !== 'string' || !allowed.includes(value as T)) {
    throw invalidArgument(
      pkg,
      field,
      `must be one of ${allowed.map((a) => JSON.stringify(a)).join(', ')}, got ${describe(value)}`,
    );
  }
  return value as T;
}

/** A short, safe description of a bad value for error messages. */
export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (typeof value === 'string')
    return JSON.stringify(value.length > 60 ? value.slice(0, 57) + '...' : value);
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (typeof value === 'bigint') return `${value}n`;
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'function') return 'a function';
  if (typeof value === 'object') {
    const name = (Object.getPrototypeOf(value) as { constructor?: { name?: string } } | null)?.constructor
      ?.name;
    return name && name !== 'Object' ? `an instance of ${name}` : 'an object';
  }
  return typeof value;
}

function isIPv4(s: string): boolean {
  const parts = s.split('.');
  return parts.length === 4 && parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255);
}

function isIPv6(s: string): boolean {
  const addr = s.startsWith('[') && s.endsWith(']') ? s.slice(1, -1) : s;
  if (!addr.includes(':') || !/^[0-9A-Fa-f:.%a-zA-Z]+$/.test(addr)) return false;
  const [head] = addr.split('%');
  const doubles = head!.split('::').length - 1;
  if (doubles > 1) return false;
  const groups = head!.split(':').filter((g) => g !== '');
  return groups.every((g) => /^[0-9A-Fa-f]{1,4}$/.test(g) || isIPv4(g)) && groups.length <= 8;
}

function isHostname(s: string): boolean {
  const labels = s.split('.');
  // A numeric last label is an IPv4 address or nothing (`999.1.1.1` is not a hostname).
  if (/^\d+$/.test(labels.at(-1) ?? '')) return false;
  return labels.every((label) => /^[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9])?$/.test(label));
}

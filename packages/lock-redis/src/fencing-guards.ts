import {
  assertKey,
  type Clock,
  describeValue as describe,
  type FencedResult,
  invalidArgument,
  systemClock,
} from '@switchyard/core';
import {
  callBackend,
  DEFAULT_REQUEST_TIMEOUT,
  type OptionPath,
  opt,
  parseOptions,
} from '@switchyard/core/driver';
import type { RedisClient } from './lua-script.js';
import { isRedisClient, PKG } from './redis-connection.js';

/*
 * Resource-side guards: a lock lease is only safe when the protected resource rejects writes from a
 * holder that has already lost the lock. Each guard remembers the largest token that wrote and
 * refuses smaller ones (Kleppmann's fencing tokens).
 */

/** Compares two decimal integer strings without going through Lua's doubles. */
const LUA_TOKEN_CMP = `
local function tokenLess(a, b)
  if string.len(a) ~= string.len(b) then return string.len(a) < string.len(b) end
  return a < b
end
`;

/**
 * KEYS: fence, then the command's keys. ARGV: token, strict ('1' | '0'), command name, args…
 * Runs the command only if no larger token (or, strict, no equal token) has written before; the
 * fence moves only when the command succeeded. → {1, reply} | {0, fence} | {-1, error}.
 */
const FENCED_CALL_SOURCE = `${LUA_TOKEN_CMP}
local seen = redis.call('GET', KEYS[1])
if seen then
  if tokenLess(ARGV[1], seen) then return {0, seen} end
  if ARGV[2] == '1' and seen == ARGV[1] then return {0, seen} end
end
local reply = redis.pcall(unpack(ARGV, 3))
if type(reply) == 'table' and reply.err then return {-1, reply.err} end
redis.call('SET', KEYS[1], ARGV[1])
if type(reply) == 'table' and reply.ok then reply = reply.ok end
return {1, reply}
`;

export interface FencedWriteOptions {
  /** Where the largest token that wrote is kept; on Cluster it must share a hash tag with `keys`. */
  fenceKey: string;
  /** The writer's fencing token (`lease.token`). */
  token: bigint;
  /** The write, e.g. `['SET', 'balance', '42']` or `['HSET', 'doc', 'title', 'x']`. */
  command: [string, ...(string | number)[]];
  /** The keys `command` touches (declared to Redis so the script is Cluster-safe). */
  keys?: string[];
  /** Reject a token equal to the last one too (default false: one holder may write several times). */
  strict?: boolean;
  /** Stops waiting for the reply (`ABORTED`); the write may still be applied. */
  signal?: AbortSignal;
  /** Deadline of the call, ms (default 5 000): no reply by then is `BACKEND_UNAVAILABLE`. */
  requestTimeout?: number;
  clock?: Clock;
}

function token(value: unknown, at: OptionPath): bigint {
  if (typeof value !== 'bigint' || value < 0n) {
    throw invalidArgument(
      at.pkg,
      at.field,
      `must be a non-negative bigint (lease.token), got ${describe(value)}`,
    );
  }
  return value;
}

function command(value: unknown, at: OptionPath): [string, ...(string | number)[]] {
  if (!Array.isArray(value) || value.length === 0) {
    throw invalidArgument(
      at.pkg,
      at.field,
      `must be a non-empty array like ["SET", key, value], got ${describe(value)}`,
    );
  }
  value.forEach((part, i) => {
    const ok =
      i === 0
        ? typeof part === 'string' && /^[A-Za-z][A-Za-z.|_-]*$/.test(part)
        : typeof part === 'string' || (typeof part === 'number' && Number.isFinite(part));
    if (!ok) {
      const want = i === 0 ? 'a Redis command name' : 'a string or a finite number';
      throw invalidArgument(at.pkg, `${at.field}[${i}]`, `must be ${want}, got ${describe(part)}`);
    }
  });
  return value as [string, ...(string | number)[]];
}

const fencedWriteSchema = {
  fenceKey: opt.custom((v, at) => assertKey(at.pkg, at.field, v)).required(),
  token: opt.custom(token).required(),
  command: opt.custom(command).required(),
  keys: opt.array(opt.custom((v, at) => assertKey(at.pkg, at.field, v))),
  strict: opt.boolean().default(false),
  signal: opt.signal(),
  requestTimeout: opt.duration().default(DEFAULT_REQUEST_TIMEOUT),
  clock: opt.clock().default(systemClock),
};

/**
 * Runs one Redis write atomically only if `token` is not older than the last token that wrote
 * through this fence (Redis Lua "write if token is newer"). A command Redis refuses (unknown, wrong
 * arity, wrong type) is `INVALID_ARGUMENT` naming `command`, and the fence does not move.
 */
export async function fencedWrite(client: RedisClient, options: FencedWriteOptions): Promise<FencedResult> {
  if (!isRedisClient(client)) {
    throw invalidArgument(
      PKG,
      'client',
      `must be an ioredis Redis or Cluster client, got ${describe(client)}`,
    );
  }
  const o = parseOptions(PKG, options ?? null, fencedWriteSchema);
  const keys = o.keys ?? [];
  const reply = (await callBackend(
    'fencedWrite',
    { pkg: PKG, clock: o.clock, timeout: o.requestTimeout, signal: o.signal },
    () =>
      client.eval(
        FENCED_CALL_SOURCE,
        1 + keys.length,
        o.fenceKey,
        ...keys,
        o.token.toString(),
        o.strict ? '1' : '0',
        ...o.command,
      ),
  )) as [number, unknown];
  if (reply[0] === -1) {
    throw invalidArgument(PKG, 'command', `was refused by Redis: ${String(reply[1])}`);
  }
  if (reply[0] === 1) return { applied: true, fence: o.token, reply: reply[1] };
  return { applied: false, fence: BigInt(String(reply[1])) };
}

export interface SqlFenceOptions {
  /** Column holding the last token that wrote the row (default `fence_token`). */
  column?: string;
  token: bigint;
  /** Placeholder for the token parameter: `$1`…, `?`, `:name` or `@name` (default `$1`). */
  placeholder?: string;
  /** Reject an equal token too (default false). */
  strict?: boolean;
}

export interface SqlFragment {
  sql: string;
  /** The token as a decimal string (safe for BIGINT columns in every driver). */
  params: [string];
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$/;
/** The placeholder syntaxes of the common drivers: pg `$1`, mysql/sqlite `?`, named `:name` / `@name`. */
const PLACEHOLDER = /^(\$[1-9][0-9]{0,4}|\?|[:@][A-Za-z_][A-Za-z0-9_]{0,62})$/;

const sqlSchema = {
  column: opt
    .string({
      maxLength: 128,
      pattern: IDENTIFIER,
      hint: 'a plain SQL identifier (letters, digits, _; optional table.)',
    })
    .default('fence_token'),
  token: opt.custom(token).required(),
  placeholder: opt
    .string({ maxLength: 64, pattern: PLACEHOLDER, hint: 'a placeholder: $1 … $99999, ?, :name or @name' })
    .default('$1'),
  strict: opt.boolean().default(false),
};

/**
 * The `WHERE` condition of a fenced SQL write: `(fence_token IS NULL OR fence_token <= $1)`.
 * Pair it with `sqlFenceAssignment` in the `SET` list and check the affected row count:
 * 0 rows means a newer holder has written (or the row is missing).
 *
 * ```ts
 * const cond = sqlFenceCondition({ token: lease.token, placeholder: '$3' });
 * const set = sqlFenceAssignment({ token: lease.token, placeholder: '$3' });
 * await pg.query(`UPDATE accounts SET balance = $1, ${set.sql} WHERE id = $2 AND ${cond.sql}`, [b, id, ...cond.params]);
 * ```
 */
export function sqlFenceCondition(options: SqlFenceOptions): SqlFragment {
  const o = parseOptions(PKG, options ?? null, sqlSchema);
  return {
    sql: `(${o.column} IS NULL OR ${o.column} ${o.strict ? '<' : '<='} ${o.placeholder})`,
    params: [o.token.toString()],
  };
}

/** The `SET` part that records the token: `fence_token = $1`. */
export function sqlFenceAssignment(options: Omit<SqlFenceOptions, 'strict'>): SqlFragment {
  const o = parseOptions(PKG, options ?? null, { ...sqlSchema, strict: opt.boolean() });
  return { sql: `${o.column} = ${o.placeholder}`, params: [o.token.toString()] };
}

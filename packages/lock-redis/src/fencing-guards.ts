import {
  assertKey,
  assertNonEmptyString,
  backendUnavailable,
  invalidArgument,
  raceSignal,
  throwIfAborted,
} from '@switchyard/core';
import { PKG } from './lock-engine.js';
import type { RedisClient } from './lua-script.js';

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
 * Runs the command only if no larger token (or, strict, no equal token) has written before.
 */
const FENCED_CALL_SOURCE = `${LUA_TOKEN_CMP}
local seen = redis.call('GET', KEYS[1])
if seen then
  if tokenLess(ARGV[1], seen) then return {0, seen} end
  if ARGV[2] == '1' and seen == ARGV[1] then return {0, seen} end
end
redis.call('SET', KEYS[1], ARGV[1])
local reply = redis.call(unpack(ARGV, 3))
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
}

export interface FencedWriteResult {
  /** `false`: a newer token has already written; the write was not applied. */
  applied: boolean;
  /** The command's reply when applied, else the token that blocked it. */
  reply: unknown;
}

/**
 * Runs one Redis write atomically only if `token` is not older than the last token that wrote
 * through this fence (Redis Lua "write if token is newer").
 */
export async function fencedWrite(
  client: RedisClient,
  options: FencedWriteOptions,
): Promise<FencedWriteResult> {
  const fenceKey = assertKey(PKG, 'fenceKey', options.fenceKey);
  if (typeof options.token !== 'bigint' || options.token < 0n) {
    throw invalidArgument(PKG, 'token', 'must be a non-negative bigint (lease.token)');
  }
  if (!Array.isArray(options.command) || options.command.length === 0) {
    throw invalidArgument(PKG, 'command', 'must be a non-empty array like ["SET", key, value]');
  }
  assertNonEmptyString(PKG, 'command[0]', options.command[0]);
  const keys = options.keys ?? [];
  throwIfAborted(PKG, options.signal, 'fencedWrite');
  const call = client.eval(
    FENCED_CALL_SOURCE,
    1 + keys.length,
    fenceKey,
    ...keys,
    options.token.toString(),
    options.strict ? '1' : '0',
    ...options.command,
  ) as Promise<[number, unknown]>;
  let reply: [number, unknown];
  try {
    reply = await raceSignal(call, options.signal, PKG, 'fencedWrite');
  } catch (error) {
    throw backendUnavailable(PKG, 'fencedWrite', error);
  }
  return { applied: reply[0] === 1, reply: reply[1] };
}

export interface SqlFenceOptions {
  /** Column holding the last token that wrote the row (default `fence_token`). */
  column?: string;
  token: bigint;
  /** Placeholder for the token parameter: `$1`, `$4`, `?`, `:fence` … (default `$1`). */
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

function column(options: SqlFenceOptions): string {
  const col = options.column ?? 'fence_token';
  if (typeof col !== 'string' || !IDENTIFIER.test(col)) {
    throw invalidArgument(
      PKG,
      'column',
      'must be a plain SQL identifier (letters, digits, _; optional table.)',
    );
  }
  if (typeof options.token !== 'bigint' || options.token < 0n) {
    throw invalidArgument(PKG, 'token', 'must be a non-negative bigint (lease.token)');
  }
  return col;
}

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
  const col = column(options);
  const ph = options.placeholder ?? '$1';
  return {
    sql: `(${col} IS NULL OR ${col} ${options.strict ? '<' : '<='} ${ph})`,
    params: [options.token.toString()],
  };
}

/** The `SET` part that records the token: `fence_token = $1`. */
export function sqlFenceAssignment(options: SqlFenceOptions): SqlFragment {
  const col = column(options);
  return { sql: `${col} = ${options.placeholder ?? '$1'}`, params: [options.token.toString()] };
}

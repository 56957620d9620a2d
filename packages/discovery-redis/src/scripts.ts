import { createHash } from 'node:crypto';
import type { Cluster, Redis } from 'ioredis';

/** Any ioredis connection: a single node (standalone or Sentinel-managed) or a Cluster client. */
export type RedisClient = Redis | Cluster;

/** A Lua script run by SHA (`EVALSHA`), falling back to `EVAL` when the server does not know it yet. */
export class LuaScript {
  readonly source: string;
  readonly sha: string;
  readonly #keys: number;

  constructor(source: string, keys: number) {
    this.source = source;
    this.#keys = keys;
    this.sha = createHash('sha1').update(source).digest('hex');
  }

  async run(client: RedisClient, keys: readonly string[], args: readonly (string | number)[]) {
    try {
      return (await client.evalsha(this.sha, this.#keys, ...keys, ...args)) as unknown;
    } catch (error) {
      if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
      return (await client.eval(this.source, this.#keys, ...keys, ...args)) as unknown;
    }
  }
}

/*
 * Every script of a service gets KEYS = records, deadlines, log, meta (one hash slot) and
 * ARGV[1..5] = candidate epoch, stream MAXLEN, retention of an empty service's meta and log (ms),
 * doorbell channel ('' = none), service name; operation arguments follow from ARGV[6].
 *
 * Invariants: every change bumps `meta.rev` by one and appends exactly one stream entry carrying
 * that revision and the epoch, in the same script; an expired instance (deadline <= server time)
 * is gone for every reader: reads and writes remove it first, appending its removal.
 */
const PRELUDE = `
local records, deadlines, log, meta = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local epoch = false
local changed = false
local function ensureEpoch()
  if not epoch then
    epoch = redis.call('HGET', meta, 'epoch')
    if not epoch then
      epoch = ARGV[1]
      redis.call('HSET', meta, 'epoch', epoch, 'rev', 0)
    end
  end
  return epoch
end
local function append(kind, id, json)
  ensureEpoch()
  local rev = redis.call('HINCRBY', meta, 'rev', 1)
  if json then
    redis.call('XADD', log, 'MAXLEN', '~', ARGV[2], '*', 'r', rev, 'e', epoch, 'k', kind, 'i', id, 'v', json)
  else
    redis.call('XADD', log, 'MAXLEN', '~', ARGV[2], '*', 'r', rev, 'e', epoch, 'k', kind, 'i', id)
  end
  changed = true
end
local function sweep()
  local dead = redis.call('ZRANGEBYSCORE', deadlines, '-inf', now)
  if #dead == 0 then return end
  redis.call('ZREMRANGEBYSCORE', deadlines, '-inf', now)
  for _, id in ipairs(dead) do
    redis.call('HDEL', records, id)
    append('d', id)
  end
end
local function finish()
  if redis.call('EXISTS', records) == 1 then
    redis.call('PERSIST', meta)
    redis.call('PERSIST', log)
  elseif redis.call('PTTL', meta) < tonumber(ARGV[3]) / 2 then
    redis.call('PEXPIRE', meta, ARGV[3])
    redis.call('PEXPIRE', log, ARGV[3])
  end
  if changed and ARGV[4] ~= '' then redis.call('PUBLISH', ARGV[4], ARGV[5]) end
end
local function owned(value, token)
  return value and string.sub(value, 1, #token + 1) == token .. '|'
end
local function jsonOf(value)
  return string.sub(value, string.find(value, '|', 1, true) + 1)
end
`;

/** ARGV[6..9] = id, owner token, JSON, ttl. Returns the epoch. */
export const PUT = new LuaScript(
  `${PRELUDE}
sweep()
ensureEpoch()
local id, json = ARGV[6], ARGV[8]
local old = redis.call('HGET', records, id)
redis.call('HSET', records, id, ARGV[7] .. '|' .. json)
redis.call('ZADD', deadlines, now + tonumber(ARGV[9]), id)
if not old or jsonOf(old) ~= json then append('p', id, json) end
finish()
return epoch`,
  4,
);

/**
 * KEYS = records, deadlines, meta; ARGV = id, expected value (`token|json`), ttl, epoch. 1 when
 * the deadline was extended; 0 when the record is gone, expired, someone else's, differs from the
 * registration's instance (a write lost in a failover) or the epoch changed: the kit re-puts.
 */
export const HEARTBEAT = new LuaScript(
  `
if redis.call('HGET', KEYS[3], 'epoch') ~= ARGV[4] then return 0 end
if redis.call('HGET', KEYS[1], ARGV[1]) ~= ARGV[2] then return 0 end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local deadline = redis.call('ZSCORE', KEYS[2], ARGV[1])
if not deadline or tonumber(deadline) <= now then return 0 end
redis.call('ZADD', KEYS[2], now + tonumber(ARGV[3]), ARGV[1])
return 1`,
  3,
);

/** ARGV[6..9] = id, owner token, JSON, ttl. 1 when written, 0 when the record is not ours or gone. */
export const UPDATE = new LuaScript(
  `${PRELUDE}
local id, token, json = ARGV[6], ARGV[7], ARGV[8]
local old = redis.call('HGET', records, id)
if not owned(old, token) then return 0 end
local deadline = redis.call('ZSCORE', deadlines, id)
if not deadline or tonumber(deadline) <= now then return 0 end
redis.call('HSET', records, id, token .. '|' .. json)
redis.call('ZADD', deadlines, now + tonumber(ARGV[9]), id)
if jsonOf(old) ~= json then append('p', id, json) end
finish()
return 1`,
  4,
);

/** ARGV[6..7] = id, owner token. 1 when removed, 0 when it was not there or not ours. */
export const REMOVE = new LuaScript(
  `${PRELUDE}
local id = ARGV[6]
local old = redis.call('HGET', records, id)
if not owned(old, ARGV[7]) then return 0 end
redis.call('HDEL', records, id)
redis.call('ZREM', deadlines, id)
append('d', id)
finish()
return 1`,
  4,
);

/** Removes expired instances, then returns { epoch, rev, id of the last stream entry, HGETALL }. */
export const LIST = new LuaScript(
  `${PRELUDE}
sweep()
ensureEpoch()
local all = redis.call('HGETALL', records)
local rev = redis.call('HGET', meta, 'rev')
local last = redis.call('XREVRANGE', log, '+', '-', 'COUNT', 1)
finish()
local cursor = '0-0'
if #last > 0 then cursor = last[1][1] end
return {epoch, rev, cursor, all}`,
  4,
);

/** Removes expired instances; returns { epoch, rev, live instance count }. */
export const SWEEP = new LuaScript(
  `${PRELUDE}
sweep()
ensureEpoch()
local rev = redis.call('HGET', meta, 'rev')
local n = redis.call('HLEN', records)
finish()
return {epoch, rev, n}`,
  4,
);

/**
 * Where a resumed watch stands. ARGV[6..7] = cursor (stream id, '0-0' = before the first entry),
 * revision at the cursor. Returns { epoch, rev, revision of the entry at the cursor (-1: absent),
 * revision of the first entry after it (-1: none) }.
 */
export const CHECK = new LuaScript(
  `${PRELUDE}
ensureEpoch()
local rev = redis.call('HGET', meta, 'rev')
local cursor = ARGV[6]
local at = -1
if cursor ~= '0-0' then
  local e = redis.call('XRANGE', log, cursor, cursor)
  if #e > 0 then at = tonumber(e[1][2][2]) end
end
local nxt = redis.call('XRANGE', log, '(' .. cursor, '+', 'COUNT', 1)
local nextRev = -1
if #nxt > 0 then nextRev = tonumber(nxt[1][2][2]) end
finish()
return {epoch, rev, at, nextRev}`,
  4,
);

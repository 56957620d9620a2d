import { LUA_NEXT_TOKEN, LUA_TIME, LuaScript } from './lua-script.js';

/*
 * Counting semaphore and the reader side of the read-write lock. Holders live in a zset scored by
 * their expiry in *server* time (no client clocks involved); a meta hash keeps "token|owner" per holder.
 */

const LUA_PURGE = `
local function purge(holdersKey, metaKey)
  local dead = redis.call('ZRANGEBYSCORE', holdersKey, '-inf', now)
  for i = 1, #dead, 1000 do
    redis.call('HDEL', metaKey, unpack(dead, i, math.min(i + 999, #dead)))
  end
  if #dead > 0 then redis.call('ZREMRANGEBYSCORE', holdersKey, '-inf', now) end
end
local function admit(holdersKey, metaKey, fenceKey, hid, owner, ttl)
  local token = nextToken(fenceKey)
  redis.call('ZADD', holdersKey, now + tonumber(ttl), hid)
  redis.call('HSET', metaKey, hid, token .. '|' .. owner)
  local keep = tonumber(ttl) + 60000
  if redis.call('PTTL', holdersKey) < keep then
    redis.call('PEXPIRE', holdersKey, keep)
    redis.call('PEXPIRE', metaKey, keep)
  end
  return token
end
local function heldToken(holdersKey, metaKey, hid)
  if not redis.call('ZSCORE', holdersKey, hid) then return nil end
  local meta = redis.call('HGET', metaKey, hid)
  return string.sub(meta, 1, string.find(meta, '|', 1, true) - 1)
end
local function firstExpiry(holdersKey)
  local first = redis.call('ZRANGE', holdersKey, 0, 0, 'WITHSCORES')
  if first[2] then return tostring(math.max(0, tonumber(first[2]) - now)) end
  return '-1'
end
`;

export const LUA_SEMAPHORE_PRELUDE = `${LUA_TIME}${LUA_NEXT_TOKEN}${LUA_PURGE}`;

/** KEYS: holders, meta, fence. ARGV: owner, hid, ttl, permits. → {acquired, token | pttl, server ms}. */
export const ACQUIRE_PERMIT = new LuaScript(
  `${LUA_SEMAPHORE_PRELUDE}
purge(KEYS[1], KEYS[2])
local held = heldToken(KEYS[1], KEYS[2], ARGV[2])
if held then return {'1', held, nowStr} end
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[4]) then
  return {'1', admit(KEYS[1], KEYS[2], KEYS[3], ARGV[2], ARGV[1], ARGV[3]), nowStr}
end
return {'0', firstExpiry(KEYS[1]), nowStr}
`,
  3,
);

/** KEYS: holders, meta. ARGV: hid, ttl. → 1 extended, 0 no longer held. */
export const EXTEND_PERMIT = new LuaScript(
  `${LUA_TIME}
local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
if (not score) or tonumber(score) <= now then return 0 end
redis.call('ZADD', KEYS[1], 'XX', now + tonumber(ARGV[2]), ARGV[1])
local keep = tonumber(ARGV[2]) + 60000
if redis.call('PTTL', KEYS[1]) < keep then
  redis.call('PEXPIRE', KEYS[1], keep)
  redis.call('PEXPIRE', KEYS[2], keep)
end
return 1
`,
  2,
);

/** KEYS: holders, meta. ARGV: hid, channel, key. → 1 released, 0 was not held (expired). */
export const RELEASE_PERMIT = new LuaScript(
  `${LUA_TIME}
local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1])
redis.call('PUBLISH', ARGV[2], 'r|' .. ARGV[3])
if score and tonumber(score) > now then return 1 end
return 0
`,
  2,
);

/** KEYS: holders, meta. → flat list hid, score-left, meta … of live holders. */
export const LIST_PERMITS = new LuaScript(
  `${LUA_TIME}
local out = {}
local rows = redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. now, '+inf', 'WITHSCORES')
for i = 1, #rows, 2 do
  out[#out + 1] = rows[i]
  out[#out + 1] = tostring(tonumber(rows[i + 1]) - now)
  out[#out + 1] = redis.call('HGET', KEYS[2], rows[i]) or '0|?'
end
return out
`,
  2,
);

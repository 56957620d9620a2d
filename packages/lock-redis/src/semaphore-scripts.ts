import { LUA_NEXT_TOKEN, LUA_TIME, LuaScript } from './lua-script.js';
import { LUA_QUEUE } from './wait-queue-lua.js';

/*
 * Counting semaphore (and the reader side of the read-write lock). Holders live in a zset scored by
 * their expiry in *server* time (no client clocks involved); a hash keeps "token|owner" per holder.
 * Waiters queue FIFO (wait-queue-lua.ts): a free permit goes to the first live waiter, handed off by
 * the script that freed it, so the first waiter is never overtaken.
 */

export const LUA_PERMITS = `
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
-- {token, ms left} of request hid's permit, or nil (call after purge).
local function heldPermit(holdersKey, metaKey, hid)
  local score = redis.call('ZSCORE', holdersKey, hid)
  if not score then return nil end
  local meta = redis.call('HGET', metaKey, hid)
  return string.sub(meta, 1, string.find(meta, '|', 1, true) - 1), tostring(tonumber(score) - now)
end
local function firstExpiry(holdersKey)
  local first = redis.call('ZRANGE', holdersKey, 0, 0, 'WITHSCORES')
  if first[2] then return tostring(math.max(0, tonumber(first[2]) - now)) end
  return '-1'
end
-- Hands free permits to the first live waiters, in queue order.
local function handOffPermits(holdersKey, metaKey, fenceKey, queueKey, dlKey, qmetaKey, permits, channel, key)
  local free = permits - redis.call('ZCARD', holdersKey)
  while free > 0 do
    local head = dropDeadHeads(queueKey, dlKey, qmetaKey)
    if not head then return end
    local owner, ttl = popHead(queueKey, dlKey, qmetaKey, head)
    publishGrant(channel, key, head, admit(holdersKey, metaKey, fenceKey, head, owner, ttl), ttl)
    free = free - 1
  end
end
`;

export const PERMITS_PRELUDE = `${LUA_TIME}${LUA_NEXT_TOKEN}${LUA_QUEUE}${LUA_PERMITS}`;

/**
 * KEYS: holders, meta, fence, queue, deadlines, queue meta. ARGV: owner, hid, ttl, permits, queue
 * lease ms (0 = do not wait), channel, key. → {acquired, token | pttl, server ms[, ms left]}.
 * Free permits go to queued waiters first (handed off, in order); a newcomer gets one only when
 * nobody live is queued ahead of it, else it queues.
 */
export const ACQUIRE_PERMIT = new LuaScript(
  `${PERMITS_PRELUDE}
purge(KEYS[1], KEYS[2])
local held, left = heldPermit(KEYS[1], KEYS[2], ARGV[2])
if held then return {'1', held, nowStr, left} end
local free = tonumber(ARGV[4]) - redis.call('ZCARD', KEYS[1])
while free > 0 do
  local head = dropDeadHeads(KEYS[4], KEYS[5], KEYS[6])
  if not head then break end
  if head == ARGV[2] then
    dequeue(KEYS[4], KEYS[5], KEYS[6], head)
    break
  end
  local owner, ttl = popHead(KEYS[4], KEYS[5], KEYS[6], head)
  publishGrant(ARGV[6], ARGV[7], head, admit(KEYS[1], KEYS[2], KEYS[3], head, owner, ttl), ttl)
  free = free - 1
end
if free > 0 then return {'1', admit(KEYS[1], KEYS[2], KEYS[3], ARGV[2], ARGV[1], ARGV[3]), nowStr} end
local lease = tonumber(ARGV[5])
if lease > 0 then enqueue(KEYS[4], KEYS[5], KEYS[6], ARGV[2], ARGV[3], ARGV[1], lease) end
return {'0', firstExpiry(KEYS[1]), nowStr}
`,
  6,
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

/**
 * KEYS: holders, meta, fence, queue, deadlines, queue meta, latch. ARGV: hid, permits, channel,
 * key, latch ttl, retry. → 1 released, 0 was not held (expired). Hands the permit on.
 */
export const RELEASE_PERMIT = new LuaScript(
  `${PERMITS_PRELUDE}
if ARGV[6] == '1' then
  local cached = redis.call('GET', KEYS[7])
  if cached then return tonumber(cached) end
end
purge(KEYS[1], KEYS[2])
local released = 0
if redis.call('ZREM', KEYS[1], ARGV[1]) == 1 then
  redis.call('HDEL', KEYS[2], ARGV[1])
  redis.call('SET', KEYS[7], '1', 'PX', ARGV[5])
  released = 1
end
handOffPermits(KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], tonumber(ARGV[2]), ARGV[3], ARGV[4])
return released
`,
  7,
);

/**
 * KEYS: holders, meta, fence, queue, deadlines, queue meta. ARGV: hid, permits, channel, key.
 * An abandoned wait (or an acquire whose reply was lost): leaves the queue, gives back a permit it
 * may have been granted, hands free permits on.
 */
export const ABANDON_PERMIT = new LuaScript(
  `${PERMITS_PRELUDE}
dequeue(KEYS[4], KEYS[5], KEYS[6], ARGV[1])
purge(KEYS[1], KEYS[2])
local had = redis.call('ZREM', KEYS[1], ARGV[1])
if had == 1 then redis.call('HDEL', KEYS[2], ARGV[1]) end
handOffPermits(KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], tonumber(ARGV[2]), ARGV[3], ARGV[4])
return had
`,
  6,
);

/**
 * KEYS: holders, meta, fence, queue, deadlines, queue meta. ARGV: permits, channel, key, lost
 * channel. Operator release of every permit of the key: each holder is told, permits handed on.
 */
export const FORCE_RELEASE_PERMITS = new LuaScript(
  `${PERMITS_PRELUDE}
purge(KEYS[1], KEYS[2])
local all = redis.call('ZRANGE', KEYS[1], 0, -1)
if #all == 0 then return 0 end
for _, hid in ipairs(all) do publishLost(ARGV[4], ARGV[3], hid) end
redis.call('DEL', KEYS[1], KEYS[2])
handOffPermits(KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], tonumber(ARGV[1]), ARGV[2], ARGV[3])
return 1
`,
  6,
);

/** KEYS: holders, meta, queue. → {queue length, then hid, ms left, "token|owner" per live holder}. */
export const INSPECT_PERMITS = new LuaScript(
  `${LUA_TIME}
local out = {tostring(redis.call('LLEN', KEYS[3]))}
local rows = redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. now, '+inf', 'WITHSCORES')
for i = 1, #rows, 2 do
  out[#out + 1] = rows[i]
  out[#out + 1] = tostring(tonumber(rows[i + 1]) - now)
  out[#out + 1] = redis.call('HGET', KEYS[2], rows[i]) or '0|?'
end
return out
`,
  3,
);

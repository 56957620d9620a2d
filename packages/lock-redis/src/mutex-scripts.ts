import { LUA_NEXT_TOKEN, LUA_TIME, LuaScript } from './lua-script.js';

/*
 * Mutex and fair-lock scripts. Holder hash fields: owner, hid (the acquiring handle's id, which is
 * also the request id), token, count (reentrancy), req (handle id of the last re-entry).
 * Messages on the prefix channel: `r|<key>` released, `g|<token>|<ms>|<pttl>|<len>|<hid><key>` handed off,
 * `l|<len>|<owner><key>` force-released (on the lost channel).
 */

/** Re-entry or a retried attempt by the same owner (shared by the mutex and fair acquire). */
const LUA_SAME_OWNER = `
local function sameOwner(lockKey, h, hid, ttl, reentrant)
  -- Our own grant (a retried attempt, or a hand-off whose notice we missed): report its pttl, since
  -- a hand-off grant may be shorter than the ttl asked for.
  if h[2] == hid or h[4] == hid then return {'1', h[3], nowStr, tostring(redis.call('PTTL', lockKey))} end
  if reentrant == '1' then
    redis.call('HINCRBY', lockKey, 'count', 1)
    redis.call('HSET', lockKey, 'req', hid)
    if redis.call('PTTL', lockKey) < tonumber(ttl) then redis.call('PEXPIRE', lockKey, ttl) end
    return {'1', h[3], nowStr}
  end
  return nil
end
local function grant(lockKey, fenceKey, owner, hid, ttl)
  local token = nextToken(fenceKey)
  redis.call('HSET', lockKey, 'owner', owner, 'hid', hid, 'token', token, 'count', 1, 'req', hid)
  redis.call('PEXPIRE', lockKey, ttl)
  return token
end
`;

/** Hands the free lock to the first live waiter of the fair queue, or announces it is free. */
const LUA_HAND_OFF = `
local function dropDeadHeads(queueKey, dlKey, metaKey)
  local head = redis.call('LINDEX', queueKey, 0)
  while head do
    local dl = redis.call('ZSCORE', dlKey, head)
    if dl and tonumber(dl) > now then return head end
    redis.call('LPOP', queueKey)
    redis.call('ZREM', dlKey, head)
    redis.call('HDEL', metaKey, head)
    head = redis.call('LINDEX', queueKey, 0)
  end
  return nil
end
local function handOff(lockKey, fenceKey, queueKey, dlKey, metaKey, channel, key)
  local head = dropDeadHeads(queueKey, dlKey, metaKey)
  if not head then
    redis.call('PUBLISH', channel, 'r|' .. key)
    return
  end
  local meta = redis.call('HGET', metaKey, head)
  local dl = redis.call('ZSCORE', dlKey, head)
  redis.call('LPOP', queueKey)
  redis.call('ZREM', dlKey, head)
  redis.call('HDEL', metaKey, head)
  local sep = string.find(meta, '|', 1, true)
  local owner = string.sub(meta, sep + 1)
  -- Until the waiter confirms (its first extend), the grant lives no longer than the waiter's own
  -- queue deadline: a waiter that died while queued costs at most that.
  local ttl = math.min(tonumber(string.sub(meta, 1, sep - 1)), tonumber(dl) - now)
  local token = grant(lockKey, fenceKey, owner, head, ttl)
  redis.call('PUBLISH', channel, 'g|' .. token .. '|' .. nowStr .. '|' .. ttl .. '|' .. string.len(head) .. '|' .. head .. key)
end
`;

/** Server time, read only on the paths that need it (the uncontended acquire and release do not). */
const LUA_LAZY_TIME = `
local now, nowStr = 0, '0'
local function loadTime()
  local t = redis.call('TIME')
  local ms = math.floor(tonumber(t[2]) / 1000)
  now = tonumber(t[1]) * 1000 + ms
  nowStr = t[1] .. string.format('%03d', ms)
end
`;

/** Registers (or refreshes) a waiter in the queue of a lock, alive until `now + lease`. */
const LUA_ENQUEUE = `
local function enqueue(queueKey, dlKey, metaKey, hid, ttl, owner, lease)
  if not redis.call('ZSCORE', dlKey, hid) then
    redis.call('RPUSH', queueKey, hid)
    redis.call('HSET', metaKey, hid, ttl .. '|' .. owner)
  end
  redis.call('ZADD', dlKey, now + lease, hid)
  local keep = lease * 2 + 60000
  redis.call('PEXPIRE', queueKey, keep)
  redis.call('PEXPIRE', dlKey, keep)
  redis.call('PEXPIRE', metaKey, keep)
end
`;

/**
 * KEYS: lock, fence, queue, deadlines, meta. ARGV: owner, hid, ttl, reentrant, queue lease ms
 * (0 = do not wait), queued ('1' = this handle may be in the queue). → {acquired, token | pttl, ms[, pttl]}.
 * Plain mutex: anyone may take a free lock (no FIFO across processes), but a waiter registers in the
 * queue so that a release hands the lock straight to it. The uncontended path is HMGET + INCR +
 * HSET + PEXPIRE; server time is read only when queueing.
 */
export const ACQUIRE_MUTEX = new LuaScript(
  `${LUA_LAZY_TIME}${LUA_NEXT_TOKEN}${LUA_SAME_OWNER}${LUA_ENQUEUE}
local h = redis.call('HMGET', KEYS[1], 'owner', 'hid', 'token', 'req')
if h[1] == false then
  if ARGV[6] == '1' then
    redis.call('LREM', KEYS[3], 0, ARGV[2])
    redis.call('ZREM', KEYS[4], ARGV[2])
    redis.call('HDEL', KEYS[5], ARGV[2])
  end
  return {'1', grant(KEYS[1], KEYS[2], ARGV[1], ARGV[2], ARGV[3]), nowStr}
end
if h[1] == ARGV[1] then
  local r = sameOwner(KEYS[1], h, ARGV[2], ARGV[3], ARGV[4])
  if r then return r end
end
local lease = tonumber(ARGV[5])
if lease > 0 then
  loadTime()
  enqueue(KEYS[3], KEYS[4], KEYS[5], ARGV[2], ARGV[3], ARGV[1], lease)
end
return {'0', tostring(redis.call('PTTL', KEYS[1])), nowStr}
`,
  5,
);

/**
 * KEYS: lock, latch, fence, queue, deadlines, meta. ARGV: owner, channel, key, latch ttl, retry ('1' | '0'),
 * notify ('1': announce a free lock even without queued waiters).
 * Release of a plain mutex: owner-checked, counts re-entries down; on the last release hands the lock
 * to the first live queued waiter (one round trip less than notice + retry); with dead waiters only,
 * announces it free.
 * A retry (after an ambiguous failure) first consults the latch the first attempt may have left, so
 * it answers like the first one.
 */
export const RELEASE_SIMPLE = new LuaScript(
  `${LUA_LAZY_TIME}${LUA_NEXT_TOKEN}${LUA_SAME_OWNER}${LUA_HAND_OFF}
if ARGV[5] == '1' then
  local cached = redis.call('GET', KEYS[2])
  if cached then return tonumber(cached) end
end
local h = redis.call('HMGET', KEYS[1], 'owner', 'count')
if h[1] ~= ARGV[1] then return 0 end
if tonumber(h[2]) <= 1 then
  redis.call('DEL', KEYS[1])
  if redis.call('EXISTS', KEYS[4]) == 1 then
    loadTime()
    handOff(KEYS[1], KEYS[3], KEYS[4], KEYS[5], KEYS[6], ARGV[2], ARGV[3])
  elseif ARGV[6] == '1' then
    -- Mutex waiters all register in the queue (in their failed attempt), so without a queue no
    -- mutex waiter needs a notice (a rare unregistered one, after a backend error, polls); waiters
    -- that do not queue here (readers, writers) ask for it.
    redis.call('PUBLISH', ARGV[2], 'r|' .. ARGV[3])
  end
else
  redis.call('HINCRBY', KEYS[1], 'count', -1)
end
redis.call('SET', KEYS[2], '1', 'PX', ARGV[4])
return 1
`,
  6,
);

/**
 * KEYS: lock, fence, queue, deadlines, meta. ARGV: owner, hid, ttl, reentrant, queue lease ms
 * (0 = do not queue), channel, key. Only the head of the queue (or anyone, when the queue is empty)
 * may take a free lock; a waiter's queue entry lives until its deadline unless refreshed.
 */
export const ACQUIRE_FAIR = new LuaScript(
  `${LUA_TIME}${LUA_NEXT_TOKEN}${LUA_SAME_OWNER}${LUA_HAND_OFF}${LUA_ENQUEUE}
local h = redis.call('HMGET', KEYS[1], 'owner', 'hid', 'token', 'req')
if h[1] == ARGV[1] then
  local r = sameOwner(KEYS[1], h, ARGV[2], ARGV[3], ARGV[4])
  if r then return r end
end
if h[1] == false then
  local head = dropDeadHeads(KEYS[3], KEYS[4], KEYS[5])
  if (not head) or head == ARGV[2] then
    if head then
      redis.call('LPOP', KEYS[3])
      redis.call('ZREM', KEYS[4], head)
      redis.call('HDEL', KEYS[5], head)
    end
    return {'1', grant(KEYS[1], KEYS[2], ARGV[1], ARGV[2], ARGV[3]), nowStr}
  end
  -- Free (the holder expired) but someone else is first: hand it to them, as a release would.
  handOff(KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], ARGV[6], ARGV[7])
end
local lease = tonumber(ARGV[5])
if lease > 0 then enqueue(KEYS[3], KEYS[4], KEYS[5], ARGV[2], ARGV[3], ARGV[1], lease) end
return {'0', tostring(redis.call('PTTL', KEYS[1])), nowStr}
`,
  5,
);

/** KEYS: lock. ARGV: owner, ttl. → 1 extended, 0 not the owner. Never shortens a re-entered lock. */
export const EXTEND_MUTEX = new LuaScript(
  `
if redis.call('HGET', KEYS[1], 'owner') ~= ARGV[1] then return 0 end
local c = tonumber(redis.call('HGET', KEYS[1], 'count') or '1')
if c > 1 and redis.call('PTTL', KEYS[1]) >= tonumber(ARGV[2]) then return 1 end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
`,
  1,
);

/**
 * KEYS: lock, latch, fence, queue, deadlines, meta. ARGV: owner, channel, key, latch ttl.
 * Owner-checked; counts re-entries down; on the last release hands off to the next fair waiter.
 * The latch makes a retried release (after an ambiguous failure) answer like the first one.
 */
export const RELEASE_MUTEX = new LuaScript(
  `${LUA_TIME}${LUA_NEXT_TOKEN}${LUA_SAME_OWNER}${LUA_HAND_OFF}
local cached = redis.call('GET', KEYS[2])
if cached then return tonumber(cached) end
if redis.call('HGET', KEYS[1], 'owner') ~= ARGV[1] then return 0 end
if redis.call('HINCRBY', KEYS[1], 'count', -1) <= 0 then
  redis.call('DEL', KEYS[1])
  handOff(KEYS[1], KEYS[3], KEYS[4], KEYS[5], KEYS[6], ARGV[2], ARGV[3])
end
redis.call('SET', KEYS[2], '1', 'PX', ARGV[4])
return 1
`,
  6,
);

/**
 * KEYS: lock, fence, queue, deadlines, meta. ARGV: owner, hid, channel, key.
 * After an abandoned wait or an acquire whose reply was lost: leaves the queue and undoes the grant
 * (or the re-entry) this handle may have received. → 1 if a grant was undone.
 */
export const CLEANUP_MUTEX = new LuaScript(
  `${LUA_TIME}${LUA_NEXT_TOKEN}${LUA_SAME_OWNER}${LUA_HAND_OFF}
redis.call('LREM', KEYS[3], 0, ARGV[2])
redis.call('ZREM', KEYS[4], ARGV[2])
redis.call('HDEL', KEYS[5], ARGV[2])
local h = redis.call('HMGET', KEYS[1], 'owner', 'hid', 'req')
if h[1] ~= ARGV[1] or (h[2] ~= ARGV[2] and h[3] ~= ARGV[2]) then return 0 end
if redis.call('HINCRBY', KEYS[1], 'count', -1) <= 0 then
  redis.call('DEL', KEYS[1])
  handOff(KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], ARGV[3], ARGV[4])
else
  redis.call('HSET', KEYS[1], 'req', '')
end
return 1
`,
  5,
);

/**
 * KEYS: lock, fence, queue, deadlines, meta. ARGV: channel, key, lost channel. Operator release: deletes the holder
 * (the fencing counter is untouched), tells the holder over pub/sub, hands off to the next waiter.
 */
export const FORCE_RELEASE = new LuaScript(
  `${LUA_TIME}${LUA_NEXT_TOKEN}${LUA_SAME_OWNER}${LUA_HAND_OFF}
local owner = redis.call('HGET', KEYS[1], 'owner')
if not owner then return 0 end
redis.call('DEL', KEYS[1])
redis.call('PUBLISH', ARGV[3], 'l|' .. string.len(owner) .. '|' .. owner .. ARGV[2])
handOff(KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], ARGV[1], ARGV[2])
return 1
`,
  5,
);

/** KEYS: lock, queue. → {owner, token, pttl, queue length} or empty. */
export const INSPECT_MUTEX = new LuaScript(
  `
local h = redis.call('HMGET', KEYS[1], 'owner', 'token')
if not h[1] then return {} end
return {h[1], h[2], tostring(redis.call('PTTL', KEYS[1])), tostring(redis.call('LLEN', KEYS[2]))}
`,
  2,
);

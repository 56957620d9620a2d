import { LUA_HOLDER } from './holder-value.js';
import { LUA_NEXT_TOKEN, LUA_TIME, LuaScript } from './lua-script.js';

/*
 * Mutex and fair-lock scripts. The holder is one string value (see holder-value.ts): count, waiter
 * flag, token, hid (the acquiring handle's id, which is also the request id), req (handle id of the
 * last re-entry), owner.
 * Messages on the prefix channel: `r|<key>` released, `g|<token>|<ms>|<pttl>|<len>|<hid><key>` handed off,
 * `l|<len>|<owner><key>` force-released (on the lost channel).
 */

/** Re-entry or a retried attempt by the same owner (shared by the mutex and fair acquire). */
const LUA_SAME_OWNER = `
local function sameOwner(lockKey, h, hid, ttl, reentrant)
  -- Our own grant (a retried attempt, or a hand-off whose notice we missed): report its pttl, since
  -- a hand-off grant may be shorter than the ttl asked for.
  if h.hid == hid or h.req == hid then return {'1', h.token, nowStr, tostring(redis.call('PTTL', lockKey))} end
  if reentrant == '1' then
    h.count = h.count + 1
    h.req = hid
    rewriteHolder(lockKey, h)
    if redis.call('PTTL', lockKey) < tonumber(ttl) then redis.call('PEXPIRE', lockKey, ttl) end
    return {'1', h.token, nowStr}
  end
  return nil
end
-- w: '1' when waiters may be queued behind this grant.
local function grant(lockKey, fenceKey, owner, hid, ttl, w)
  local token = nextToken(fenceKey)
  redis.call('SET', lockKey, holderValue(1, w, token, hid, hid, owner), 'PX', ttl)
  return token
end
local function queueFlag(queueKey)
  if redis.call('EXISTS', queueKey) == 1 then return '1' end
  return '0'
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
  local token = grant(lockKey, fenceKey, owner, head, ttl, queueFlag(queueKey))
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
 * queue (and flags the holder) so that a release hands the lock straight to it. The uncontended
 * path is INCR + SET NX PX (a failed attempt spends a token: tokens increase, with gaps); server time
 * is read only when queueing.
 */
export const ACQUIRE_MUTEX = new LuaScript(
  `
-- Fast path first, before any helper is defined (a script run creates every closure it reaches).
local n = redis.call('INCR', KEYS[2])
local token
if n == 1 then
  local t = redis.call('TIME')
  token = t[1] .. string.format('%06d', tonumber(t[2]))
  redis.call('SET', KEYS[2], token)
else
  token = string.format('%.0f', n)
end
local prefix = '1|0|' .. token .. '|' .. ARGV[2] .. '|' .. ARGV[2] .. '|'
if redis.call('SET', KEYS[1], prefix .. ARGV[1], 'NX', 'PX', ARGV[3]) then
  if ARGV[6] == '1' then
    redis.call('LREM', KEYS[3], 0, ARGV[2])
    redis.call('ZREM', KEYS[4], ARGV[2])
    redis.call('HDEL', KEYS[5], ARGV[2])
    -- Others still queued: flag the new holder so that its release hands off to them.
    if redis.call('EXISTS', KEYS[3]) == 1 then
      redis.call('SET', KEYS[1], '1|1|' .. string.sub(prefix, 5) .. ARGV[1], 'KEEPTTL')
    end
  end
  return {'1', token, '0'}
end
${LUA_LAZY_TIME}${LUA_NEXT_TOKEN}${LUA_HOLDER}${LUA_SAME_OWNER}${LUA_ENQUEUE}
local h = readHolder(KEYS[1])
if not h then return {'0', '-1', nowStr} end
if h.owner == ARGV[1] then
  local r = sameOwner(KEYS[1], h, ARGV[2], ARGV[3], ARGV[4])
  if r then return r end
end
local lease = tonumber(ARGV[5])
if lease > 0 then
  loadTime()
  enqueue(KEYS[3], KEYS[4], KEYS[5], ARGV[2], ARGV[3], ARGV[1], lease)
  if h.w ~= '1' then
    h.w = '1'
    rewriteHolder(KEYS[1], h)
  end
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
 * announces it free. The queue is only looked at when the holder carries the waiter flag, so the
 * uncontended release is GET + DEL + SET latch.
 * A retry (after an ambiguous failure) first consults the latch the first attempt may have left, so
 * it answers like the first one.
 */
export const RELEASE_SIMPLE = new LuaScript(
  `
if ARGV[5] == '1' then
  local cached = redis.call('GET', KEYS[2])
  if cached then return tonumber(cached) end
end
local v = redis.call('GET', KEYS[1])
if not v then return 0 end
-- Fast path first, before any helper is defined: count 1, no waiter flag, our owner.
if string.sub(v, 1, 4) == '1|0|' then
  local c = string.find(v, '|', 5, true)
  local d = string.find(v, '|', c + 1, true)
  local e = string.find(v, '|', d + 1, true)
  if string.sub(v, e + 1) ~= ARGV[1] then return 0 end
  redis.call('DEL', KEYS[1])
  if ARGV[6] == '1' then redis.call('PUBLISH', ARGV[2], 'r|' .. ARGV[3]) end
  redis.call('SET', KEYS[2], '1', 'PX', ARGV[4])
  return 1
end
${LUA_LAZY_TIME}${LUA_NEXT_TOKEN}${LUA_HOLDER}${LUA_SAME_OWNER}${LUA_HAND_OFF}
local h = parseHolder(v)
if h.owner ~= ARGV[1] then return 0 end
if h.count <= 1 then
  redis.call('DEL', KEYS[1])
  if h.w == '1' then
    loadTime()
    handOff(KEYS[1], KEYS[3], KEYS[4], KEYS[5], KEYS[6], ARGV[2], ARGV[3])
  elseif ARGV[6] == '1' then
    -- Mutex waiters all register in the queue (in their failed attempt, which flags the holder), so
    -- without the flag no mutex waiter needs a notice (a rare unregistered one, after a backend
    -- error, polls); waiters that do not queue here (readers, writers) ask for it.
    redis.call('PUBLISH', ARGV[2], 'r|' .. ARGV[3])
  end
else
  h.count = h.count - 1
  rewriteHolder(KEYS[1], h)
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
  `${LUA_TIME}${LUA_NEXT_TOKEN}${LUA_HOLDER}${LUA_SAME_OWNER}${LUA_HAND_OFF}${LUA_ENQUEUE}
local h = readHolder(KEYS[1])
if h and h.owner == ARGV[1] then
  local r = sameOwner(KEYS[1], h, ARGV[2], ARGV[3], ARGV[4])
  if r then return r end
end
if not h then
  local head = dropDeadHeads(KEYS[3], KEYS[4], KEYS[5])
  if (not head) or head == ARGV[2] then
    local w = '0'
    if head then
      redis.call('LPOP', KEYS[3])
      redis.call('ZREM', KEYS[4], head)
      redis.call('HDEL', KEYS[5], head)
      w = queueFlag(KEYS[3])
    end
    return {'1', grant(KEYS[1], KEYS[2], ARGV[1], ARGV[2], ARGV[3], w), nowStr}
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
  `${LUA_HOLDER}
local h = readHolder(KEYS[1])
if (not h) or h.owner ~= ARGV[1] then return 0 end
if h.count > 1 and redis.call('PTTL', KEYS[1]) >= tonumber(ARGV[2]) then return 1 end
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
  `${LUA_TIME}${LUA_NEXT_TOKEN}${LUA_HOLDER}${LUA_SAME_OWNER}${LUA_HAND_OFF}
local cached = redis.call('GET', KEYS[2])
if cached then return tonumber(cached) end
local h = readHolder(KEYS[1])
if (not h) or h.owner ~= ARGV[1] then return 0 end
if h.count <= 1 then
  redis.call('DEL', KEYS[1])
  handOff(KEYS[1], KEYS[3], KEYS[4], KEYS[5], KEYS[6], ARGV[2], ARGV[3])
else
  h.count = h.count - 1
  rewriteHolder(KEYS[1], h)
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
  `${LUA_TIME}${LUA_NEXT_TOKEN}${LUA_HOLDER}${LUA_SAME_OWNER}${LUA_HAND_OFF}
redis.call('LREM', KEYS[3], 0, ARGV[2])
redis.call('ZREM', KEYS[4], ARGV[2])
redis.call('HDEL', KEYS[5], ARGV[2])
local h = readHolder(KEYS[1])
if (not h) or h.owner ~= ARGV[1] or (h.hid ~= ARGV[2] and h.req ~= ARGV[2]) then return 0 end
if h.count <= 1 then
  redis.call('DEL', KEYS[1])
  handOff(KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], ARGV[3], ARGV[4])
else
  h.count = h.count - 1
  h.req = ''
  rewriteHolder(KEYS[1], h)
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
  `${LUA_TIME}${LUA_NEXT_TOKEN}${LUA_HOLDER}${LUA_SAME_OWNER}${LUA_HAND_OFF}
local h = readHolder(KEYS[1])
if not h then return 0 end
local owner = h.owner
redis.call('DEL', KEYS[1])
redis.call('PUBLISH', ARGV[3], 'l|' .. string.len(owner) .. '|' .. owner .. ARGV[2])
handOff(KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], ARGV[1], ARGV[2])
return 1
`,
  5,
);

/** KEYS: lock, queue. → {owner, token, pttl, queue length} or empty. */
export const INSPECT_MUTEX = new LuaScript(
  `${LUA_HOLDER}
local h = readHolder(KEYS[1])
if not h then return {} end
return {h.owner, h.token, tostring(redis.call('PTTL', KEYS[1])), tostring(redis.call('LLEN', KEYS[2]))}
`,
  2,
);

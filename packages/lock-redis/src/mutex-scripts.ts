import { LUA_HOLDER } from './holder-value.js';
import { LUA_NEXT_TOKEN, LUA_TIME, LuaScript } from './lua-script.js';
import { LUA_QUEUE } from './wait-queue-lua.js';

/*
 * Mutex scripts (plain, fair, Redlock nodes). The holder is one string value (holder-value.ts);
 * the wait queue is wait-queue-lua.ts. Release and extend go by the request id (`hid`), never by
 * owner. Notices on the prefix channel: `r|<key>` free, `g|…` handed off; `l|…` on the lost channel.
 */

/** Server time, read only on the paths that need it (the uncontended acquire and release do not). */
export const LUA_LAZY_TIME = `
local now, nowStr = 0, '0'
local function loadTime()
  local t = redis.call('TIME')
  local ms = math.floor(tonumber(t[2]) / 1000)
  now = tonumber(t[1]) * 1000 + ms
  nowStr = t[1] .. string.format('%03d', ms)
end
`;

/** Grants a free lock; hands it to the first live queued waiter or announces it free. */
export const LUA_HAND_OFF = `
local function queueFlag(queueKey)
  if redis.call('EXISTS', queueKey) == 1 then return '1' end
  return '0'
end
local function grant(lockKey, fenceKey, owner, hid, ttl, w)
  local token = nextToken(fenceKey)
  redis.call('SET', lockKey, holderValue(w, token, hid, owner), 'PX', ttl)
  return token
end
local function handOff(lockKey, fenceKey, queueKey, dlKey, metaKey, channel, key)
  local head = dropDeadHeads(queueKey, dlKey, metaKey)
  if not head then
    redis.call('PUBLISH', channel, 'r|' .. key)
    return
  end
  local owner, ttl = popHead(queueKey, dlKey, metaKey, head)
  publishGrant(channel, key, head, grant(lockKey, fenceKey, owner, head, ttl, queueFlag(queueKey)), ttl)
end
`;

export const MUTEX_PRELUDE = `${LUA_NEXT_TOKEN}${LUA_HOLDER}${LUA_QUEUE}${LUA_HAND_OFF}`;

/**
 * KEYS: lock, fence, queue, deadlines, meta. ARGV: owner, hid, ttl, queue lease ms (0 = do not
 * wait), requeued ('1' = this request may be in the queue). → {acquired, token | pttl, ms[, pttl]}.
 * Plain mutex: anyone may take a free lock, but a waiter registers in the queue (and flags the
 * holder) so that a release hands the lock straight to it. The uncontended path is INCR + SET NX PX
 * (a failed attempt spends a token: tokens increase, with gaps); server time is read only when queueing.
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
local rest = token .. '|' .. ARGV[2] .. '|' .. ARGV[1]
if redis.call('SET', KEYS[1], '0|' .. rest, 'NX', 'PX', ARGV[3]) then
  if ARGV[5] == '1' then
    redis.call('LREM', KEYS[3], 0, ARGV[2])
    redis.call('ZREM', KEYS[4], ARGV[2])
    redis.call('HDEL', KEYS[5], ARGV[2])
    -- Others still queued: flag the new holder so that its release hands off to them.
    if redis.call('EXISTS', KEYS[3]) == 1 then redis.call('SET', KEYS[1], '1|' .. rest, 'KEEPTTL') end
  end
  return {'1', token, '0'}
end
${LUA_LAZY_TIME}${MUTEX_PRELUDE}
local h = readHolder(KEYS[1])
if not h then return {'0', '-1', nowStr} end
-- Our own grant (a retried attempt, or a hand-off whose notice we missed): report its pttl, since a
-- hand-off grant may be shorter than the ttl asked for.
if h.hid == ARGV[2] then return {'1', h.token, nowStr, tostring(redis.call('PTTL', KEYS[1]))} end
local lease = tonumber(ARGV[4])
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
 * KEYS: lock, fence, queue, deadlines, meta. ARGV: owner, hid, ttl, queue lease ms (0 = do not
 * queue), channel, key. Fair: only the head of the queue (or anyone, when it is empty) may take a
 * free lock; a waiter's place lives until its deadline unless refreshed.
 */
export const ACQUIRE_FAIR = new LuaScript(
  `${LUA_TIME}${MUTEX_PRELUDE}
local h = readHolder(KEYS[1])
if h and h.hid == ARGV[2] then return {'1', h.token, nowStr, tostring(redis.call('PTTL', KEYS[1]))} end
if not h then
  local head = dropDeadHeads(KEYS[3], KEYS[4], KEYS[5])
  if (not head) or head == ARGV[2] then
    local w = '0'
    if head then
      dequeue(KEYS[3], KEYS[4], KEYS[5], head)
      w = queueFlag(KEYS[3])
    end
    return {'1', grant(KEYS[1], KEYS[2], ARGV[1], ARGV[2], ARGV[3], w), nowStr}
  end
  -- Free (the holder expired) but someone else is first: hand it to them, as a release would.
  handOff(KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], ARGV[5], ARGV[6])
  h = readHolder(KEYS[1])
end
local lease = tonumber(ARGV[4])
if lease > 0 then
  enqueue(KEYS[3], KEYS[4], KEYS[5], ARGV[2], ARGV[3], ARGV[1], lease)
  if h and h.w ~= '1' then
    h.w = '1'
    rewriteHolder(KEYS[1], h)
  end
end
return {'0', tostring(redis.call('PTTL', KEYS[1])), nowStr}
`,
  5,
);

/**
 * KEYS: lock, latch, fence, queue, deadlines, meta. ARGV: hid, channel, key, latch ttl, retry
 * ('1' | '0'), notify ('1': announce a free lock even without queued waiters).
 * Releases the lock if request `hid` holds it; when the holder carries the waiter flag, hands it to
 * the first live queued waiter (one round trip less than notice + retry), else (with `notify`)
 * announces it free. The uncontended release is GET + DEL + SET latch. A retry after an ambiguous
 * failure first consults the latch the first attempt may have left, so it answers like the first.
 */
export const RELEASE_MUTEX = new LuaScript(
  `
if ARGV[5] == '1' then
  local cached = redis.call('GET', KEYS[2])
  if cached then return tonumber(cached) end
end
local v = redis.call('GET', KEYS[1])
if not v then return 0 end
local a = string.find(v, '|', 3, true)
local b = string.find(v, '|', a + 1, true)
if string.sub(v, a + 1, b - 1) ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
redis.call('SET', KEYS[2], '1', 'PX', ARGV[4])
if string.byte(v, 1) == 48 then
  if ARGV[6] == '1' then redis.call('PUBLISH', ARGV[2], 'r|' .. ARGV[3]) end
  return 1
end
${LUA_LAZY_TIME}${MUTEX_PRELUDE}
loadTime()
handOff(KEYS[1], KEYS[3], KEYS[4], KEYS[5], KEYS[6], ARGV[2], ARGV[3])
return 1
`,
  6,
);

/** KEYS: lock. ARGV: hid, ttl. → 1 extended, 0 no longer held by request `hid`. */
export const EXTEND_MUTEX = new LuaScript(
  `
local v = redis.call('GET', KEYS[1])
if not v then return 0 end
local a = string.find(v, '|', 3, true)
local b = string.find(v, '|', a + 1, true)
if string.sub(v, a + 1, b - 1) ~= ARGV[1] then return 0 end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
`,
  1,
);

/**
 * KEYS: lock, fence, queue, deadlines, meta. ARGV: hid, channel, key, quiet ('1': no notice, for
 * Redlock's undo of a split vote, whose parties would otherwise all wake and split again).
 * After an abandoned wait or an acquire whose reply was lost: leaves the queue and gives back the
 * grant request `hid` may have received (handing it on). → 1 if a grant was given back.
 */
export const ABANDON_MUTEX = new LuaScript(
  `${LUA_TIME}${MUTEX_PRELUDE}
dequeue(KEYS[3], KEYS[4], KEYS[5], ARGV[1])
local h = readHolder(KEYS[1])
if (not h) or h.hid ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
if ARGV[4] ~= '1' then handOff(KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], ARGV[2], ARGV[3]) end
return 1
`,
  5,
);

/**
 * KEYS: lock, fence, queue, deadlines, meta. ARGV: channel, key, lost channel. Operator release:
 * deletes the holder (the fencing counter is untouched), tells it over pub/sub, hands off.
 */
export const FORCE_RELEASE_MUTEX = new LuaScript(
  `${LUA_TIME}${MUTEX_PRELUDE}
local h = readHolder(KEYS[1])
if not h then return 0 end
redis.call('DEL', KEYS[1])
publishLost(ARGV[3], ARGV[2], h.hid)
handOff(KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], ARGV[1], ARGV[2])
return 1
`,
  5,
);

/** KEYS: lock, queue. → {owner, token, pttl, queue length, hid} or empty. */
export const INSPECT_MUTEX = new LuaScript(
  `${LUA_HOLDER}
local h = readHolder(KEYS[1])
if not h then return {} end
return {h.owner, h.token, tostring(redis.call('PTTL', KEYS[1])), tostring(redis.call('LLEN', KEYS[2])), h.hid}
`,
  2,
);

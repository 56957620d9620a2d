import { LUA_HOLDER } from './holder-value.js';
import { LuaScript } from './lua-script.js';
import { LUA_HAND_OFF } from './mutex-scripts.js';
import { PERMITS_PRELUDE } from './semaphore-scripts.js';

/*
 * Read-write lock: readers are semaphore-style holders (zset, server-time expiry); the writer is the
 * mutex holder value. Writers wait in the FIFO queue; a live queued writer blocks new readers, so
 * readers drain and writers are not starved, and writers are served in arrival order (a release
 * hands the lock straight to the next writer). With no writer queued, a writer's release publishes
 * `r|<key>` and the waiting readers retry.
 * KEYS (every script that hands off): lock, fence, holders, meta, queue, deadlines, queue meta.
 */

const LUA_RW = `${PERMITS_PRELUDE}${LUA_HOLDER}${LUA_HAND_OFF}
-- The first live queued writer gets the lock when nobody holds it (call after purge).
local function handOffWriter(channel, key)
  if redis.call('EXISTS', KEYS[1]) == 1 or redis.call('ZCARD', KEYS[3]) > 0 then return false end
  local head = dropDeadHeads(KEYS[5], KEYS[6], KEYS[7])
  if not head then return false end
  local owner, ttl = popHead(KEYS[5], KEYS[6], KEYS[7], head)
  publishGrant(channel, key, head, grant(KEYS[1], KEYS[2], owner, head, ttl, queueFlag(KEYS[5])), ttl)
  return true
end
local function freed(channel, key)
  if not handOffWriter(channel, key) then redis.call('PUBLISH', channel, 'r|' .. key) end
end
`;

/** ARGV: owner, hid, ttl, queue lease ms (0: a single try, no queue place), channel, key. */
export const ACQUIRE_WRITE = new LuaScript(
  `${LUA_RW}
purge(KEYS[3], KEYS[4])
local lease = tonumber(ARGV[4])
local h = readHolder(KEYS[1])
if h then
  if h.hid == ARGV[2] then return {'1', h.token, nowStr, tostring(redis.call('PTTL', KEYS[1]))} end
  if lease > 0 then enqueue(KEYS[5], KEYS[6], KEYS[7], ARGV[2], ARGV[3], ARGV[1], lease) end
  return {'0', tostring(redis.call('PTTL', KEYS[1])), nowStr}
end
local head = dropDeadHeads(KEYS[5], KEYS[6], KEYS[7])
local readers = redis.call('ZCARD', KEYS[3])
if (head and head ~= ARGV[2]) or readers > 0 then
  if head and head ~= ARGV[2] then handOffWriter(ARGV[5], ARGV[6]) end
  if lease > 0 then enqueue(KEYS[5], KEYS[6], KEYS[7], ARGV[2], ARGV[3], ARGV[1], lease) end
  if redis.call('EXISTS', KEYS[1]) == 1 then return {'0', tostring(redis.call('PTTL', KEYS[1])), nowStr} end
  return {'0', firstExpiry(KEYS[3]), nowStr}
end
local w = '0'
if head then
  dequeue(KEYS[5], KEYS[6], KEYS[7], head)
  w = queueFlag(KEYS[5])
end
return {'1', grant(KEYS[1], KEYS[2], ARGV[1], ARGV[2], ARGV[3], w), nowStr}
`,
  7,
);

/** ARGV: owner, hid, ttl, channel, key. Readers never queue: they retry on `r|` or the poll. */
export const ACQUIRE_READ = new LuaScript(
  `${LUA_RW}
purge(KEYS[3], KEYS[4])
local held, left = heldPermit(KEYS[3], KEYS[4], ARGV[2])
if held then return {'1', held, nowStr, left} end
if redis.call('EXISTS', KEYS[1]) == 1 then return {'0', tostring(redis.call('PTTL', KEYS[1])), nowStr} end
if dropDeadHeads(KEYS[5], KEYS[6], KEYS[7]) then
  handOffWriter(ARGV[4], ARGV[5])
  return {'0', '-1', nowStr}
end
return {'1', admit(KEYS[3], KEYS[4], KEYS[2], ARGV[2], ARGV[1], ARGV[3]), nowStr}
`,
  7,
);

/** KEYS: the seven, then latch. ARGV: hid, channel, key, latch ttl, retry. → 1 released, 0 not held. */
export const RELEASE_WRITE = new LuaScript(
  `${LUA_RW}
if ARGV[5] == '1' then
  local cached = redis.call('GET', KEYS[8])
  if cached then return tonumber(cached) end
end
local h = readHolder(KEYS[1])
if (not h) or h.hid ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
redis.call('SET', KEYS[8], '1', 'PX', ARGV[4])
purge(KEYS[3], KEYS[4])
freed(ARGV[2], ARGV[3])
return 1
`,
  8,
);

/** KEYS: the seven, then latch. ARGV: hid, channel, key, latch ttl, retry. → 1 released, 0 not held. */
export const RELEASE_READ = new LuaScript(
  `${LUA_RW}
if ARGV[5] == '1' then
  local cached = redis.call('GET', KEYS[8])
  if cached then return tonumber(cached) end
end
purge(KEYS[3], KEYS[4])
if redis.call('ZREM', KEYS[3], ARGV[1]) == 0 then return 0 end
redis.call('HDEL', KEYS[4], ARGV[1])
redis.call('SET', KEYS[8], '1', 'PX', ARGV[4])
handOffWriter(ARGV[2], ARGV[3])
return 1
`,
  8,
);

/** ARGV: hid, channel, key. A writer that gives up leaves the queue (readers it blocked may go). */
export const ABANDON_WRITE = new LuaScript(
  `${LUA_RW}
dequeue(KEYS[5], KEYS[6], KEYS[7], ARGV[1])
purge(KEYS[3], KEYS[4])
local h = readHolder(KEYS[1])
if h and h.hid == ARGV[1] then redis.call('DEL', KEYS[1]) end
if redis.call('EXISTS', KEYS[1]) == 0 then freed(ARGV[2], ARGV[3]) end
return 1
`,
  7,
);

/** ARGV: hid, channel, key. Gives back a read permit an abandoned acquire may have taken. */
export const ABANDON_READ = new LuaScript(
  `${LUA_RW}
purge(KEYS[3], KEYS[4])
if redis.call('ZREM', KEYS[3], ARGV[1]) == 1 then
  redis.call('HDEL', KEYS[4], ARGV[1])
  handOffWriter(ARGV[2], ARGV[3])
end
return 1
`,
  7,
);

/** ARGV: channel, key, lost channel. Operator release of the writer. */
export const FORCE_RELEASE_WRITE = new LuaScript(
  `${LUA_RW}
local h = readHolder(KEYS[1])
if not h then return 0 end
redis.call('DEL', KEYS[1])
publishLost(ARGV[3], ARGV[2], h.hid)
purge(KEYS[3], KEYS[4])
freed(ARGV[1], ARGV[2])
return 1
`,
  7,
);

/** ARGV: channel, key, lost channel. Operator release of every reader. */
export const FORCE_RELEASE_READ = new LuaScript(
  `${LUA_RW}
purge(KEYS[3], KEYS[4])
local all = redis.call('ZRANGE', KEYS[3], 0, -1)
if #all == 0 then return 0 end
for _, hid in ipairs(all) do publishLost(ARGV[3], ARGV[2], hid) end
redis.call('DEL', KEYS[3], KEYS[4])
handOffWriter(ARGV[1], ARGV[2])
return 1
`,
  7,
);

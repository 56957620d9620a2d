import { LUA_HOLDER } from './holder-value.js';
import { LuaScript } from './lua-script.js';
import { LUA_SEMAPHORE_PRELUDE } from './semaphore-scripts.js';

/*
 * Read-write lock: readers are semaphore-style holders (zset, server-time expiry); the writer is the
 * mutex holder value. A writer that finds readers sets a write intent (a key with a short TTL that the
 * waiting writer refreshes); new readers are refused while it exists, so readers drain and the
 * writer is not starved.
 */

/** KEYS: lock, fence, holders, meta, intent. ARGV: owner, hid, ttl, intent ttl (0: not waiting, no intent). */
export const ACQUIRE_WRITE = new LuaScript(
  `${LUA_SEMAPHORE_PRELUDE}${LUA_HOLDER}
purge(KEYS[3], KEYS[4])
local h = readHolder(KEYS[1])
if h then
  if h.hid == ARGV[2] then return {'1', h.token, nowStr} end
  return {'0', tostring(redis.call('PTTL', KEYS[1])), nowStr}
end
local intent = redis.call('GET', KEYS[5])
if intent and intent ~= ARGV[2] then return {'0', tostring(redis.call('PTTL', KEYS[5])), nowStr} end
if redis.call('ZCARD', KEYS[3]) > 0 then
  if tonumber(ARGV[4]) > 0 then redis.call('SET', KEYS[5], ARGV[2], 'PX', ARGV[4]) end
  return {'0', firstExpiry(KEYS[3]), nowStr}
end
if intent then redis.call('DEL', KEYS[5]) end
local token = nextToken(KEYS[2])
redis.call('SET', KEYS[1], holderValue(1, '0', token, ARGV[2], ARGV[2], ARGV[1]), 'PX', ARGV[3])
return {'1', token, nowStr}
`,
  5,
);

/** KEYS: lock, fence, holders, meta, intent. ARGV: owner, hid, ttl. */
export const ACQUIRE_READ = new LuaScript(
  `${LUA_SEMAPHORE_PRELUDE}
purge(KEYS[3], KEYS[4])
local held = heldToken(KEYS[3], KEYS[4], ARGV[2])
if held then return {'1', held, nowStr} end
if redis.call('EXISTS', KEYS[1]) == 1 then return {'0', tostring(redis.call('PTTL', KEYS[1])), nowStr} end
if redis.call('EXISTS', KEYS[5]) == 1 then return {'0', tostring(redis.call('PTTL', KEYS[5])), nowStr} end
return {'1', admit(KEYS[3], KEYS[4], KEYS[2], ARGV[2], ARGV[1], ARGV[3]), nowStr}
`,
  5,
);

/** KEYS: intent. ARGV: hid. A writer that gives up withdraws its intent. */
export const WITHDRAW_INTENT = new LuaScript(
  `
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 1
`,
  1,
);

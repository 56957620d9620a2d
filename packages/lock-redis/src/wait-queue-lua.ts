/**
 * The FIFO wait queue every Redis lock kind that waits uses (mutex, fair, semaphore, writers):
 * a list of request ids (arrival order), a zset of per-waiter deadlines in server time (a waiter
 * that stops refreshing its place drops out), and a hash `hid → "ttl|owner"` (what a hand-off
 * grants). Needs `now` / `nowStr` (server time) in scope.
 */
export const LUA_QUEUE = `
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
-- Pops the live head (after dropDeadHeads): its owner and the ttl a grant to it may have (its
-- requested ttl, capped by its queue deadline: a waiter that died while queued costs at most that).
local function popHead(queueKey, dlKey, metaKey, head)
  local meta = redis.call('HGET', metaKey, head)
  local dl = redis.call('ZSCORE', dlKey, head)
  redis.call('LPOP', queueKey)
  redis.call('ZREM', dlKey, head)
  redis.call('HDEL', metaKey, head)
  local sep = string.find(meta, '|', 1, true)
  local ttl = math.min(tonumber(string.sub(meta, 1, sep - 1)), tonumber(dl) - now)
  return string.sub(meta, sep + 1), ttl
end
local function dequeue(queueKey, dlKey, metaKey, hid)
  redis.call('LREM', queueKey, 0, hid)
  redis.call('ZREM', dlKey, hid)
  redis.call('HDEL', metaKey, hid)
end
-- Registers (or refreshes) a waiter, alive until now + lease.
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
-- The notice of a hand-off: g|<token>|<server ms>|<ttl>|<len(hid)>|<hid><key>
local function publishGrant(channel, key, hid, token, ttl)
  redis.call('PUBLISH', channel, 'g|' .. token .. '|' .. nowStr .. '|' .. ttl .. '|' .. string.len(hid) .. '|' .. hid .. key)
end
-- The notice of a forced release to the holder: l|<len(hid)>|<hid><key>
local function publishLost(channel, key, hid)
  redis.call('PUBLISH', channel, 'l|' .. string.len(hid) .. '|' .. hid .. key)
end
`;

/**
 * The holder of a mutex (plain, fair, Redlock, or the writer of a read-write lock) is one string
 * value with a PX expiry, so the uncontended acquire is `INCR` fence + `SET NX PX` and the release
 * is `GET` + `DEL`:
 *
 *   `<w>|<token>|<hid>|<owner>`
 *
 * w: '1' when a waiter may be queued (a plain release then hands off, else it skips the queue);
 * token: fencing token; hid: the id of the acquire request holding it (release and extend go by it,
 * never by owner: the owner is only a label); owner last, so it may contain '|'.
 * Rewrites keep the expiry (`SET … KEEPTTL`, Redis ≥ 6.0).
 */
export const LUA_HOLDER = `
local function parseHolder(v)
  local a = string.find(v, '|', 1, true)
  local b = string.find(v, '|', a + 1, true)
  local c = string.find(v, '|', b + 1, true)
  return {
    w = string.sub(v, 1, a - 1),
    token = string.sub(v, a + 1, b - 1),
    hid = string.sub(v, b + 1, c - 1),
    owner = string.sub(v, c + 1),
  }
end
local function readHolder(lockKey)
  local v = redis.call('GET', lockKey)
  if not v then return nil end
  return parseHolder(v)
end
local function holderValue(w, token, hid, owner)
  return w .. '|' .. token .. '|' .. hid .. '|' .. owner
end
local function rewriteHolder(lockKey, h)
  redis.call('SET', lockKey, holderValue(h.w, h.token, h.hid, h.owner), 'KEEPTTL')
end
`;

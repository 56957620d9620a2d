/**
 * The holder of a mutex (plain, fair, or the writer of a read-write lock) is one string value with a
 * PX expiry, so the uncontended acquire is `INCR` fence + `SET NX PX` and the release is `GET` + `DEL`:
 *
 *   `<count>|<w>|<token>|<hid>|<req>|<owner>`
 *
 * count: re-entries; w: '1' when a waiter may be queued (a plain release then hands off, else it
 * skips the queue); token: fencing token; hid: the acquiring handle's id; req: handle id of the last
 * re-entry; owner last, so it may contain '|' (handle ids and tokens never do).
 * Rewrites keep the expiry (`SET … KEEPTTL`, Redis ≥ 6.0).
 */
export const LUA_HOLDER = `
local function parseHolder(v)
  local a = string.find(v, '|', 1, true)
  local b = string.find(v, '|', a + 1, true)
  local c = string.find(v, '|', b + 1, true)
  local d = string.find(v, '|', c + 1, true)
  local e = string.find(v, '|', d + 1, true)
  return {
    count = tonumber(string.sub(v, 1, a - 1)),
    w = string.sub(v, a + 1, b - 1),
    token = string.sub(v, b + 1, c - 1),
    hid = string.sub(v, c + 1, d - 1),
    req = string.sub(v, d + 1, e - 1),
    owner = string.sub(v, e + 1),
  }
end
local function readHolder(lockKey)
  local v = redis.call('GET', lockKey)
  if not v then return nil end
  return parseHolder(v)
end
local function holderValue(count, w, token, hid, req, owner)
  return string.format('%d', count) .. '|' .. w .. '|' .. token .. '|' .. hid .. '|' .. req .. '|' .. owner
end
local function rewriteHolder(lockKey, h)
  redis.call('SET', lockKey, holderValue(h.count, h.w, h.token, h.hid, h.req, h.owner), 'KEEPTTL')
end
`;

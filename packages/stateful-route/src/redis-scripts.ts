import { createHash } from 'node:crypto';
import type { Cluster, Redis } from 'ioredis';

/** Any ioredis connection: a single node (standalone or Sentinel-managed) or a Cluster client. */
export type RedisClient = Redis | Cluster;

/** A Lua script run by SHA (`EVALSHA`), falling back to `EVAL` when the server does not know it yet. */
export class LuaScript {
  readonly source: string;
  readonly sha: string;
  readonly keys: number;

  constructor(body: string, keys: number) {
    this.source = PRELUDE + body;
    this.keys = keys;
    this.sha = createHash('sha1').update(this.source).digest('hex');
  }

  async run(client: RedisClient, keys: readonly string[], args: readonly (string | number)[]) {
    try {
      return (await client.evalsha(this.sha, this.keys, ...keys, ...args)) as unknown;
    } catch (error) {
      if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
      return (await client.eval(this.source, this.keys, ...keys, ...args)) as unknown;
    }
  }
}

/*
 * Keys of a service share the hash tag `{service}`: pods (hash pod -> record), count (hash
 * "pod|epoch" -> active links), seq (last epoch), moves (drain-move budget counter) and one links
 * hash per namespace (uid -> "pod|epoch|till"). A pod record is
 * "epoch|state|load|capacity|deadline|ttl|move" with state N, D or F and times in server ms.
 * The rules are those of route-model.ts (judgeLink, acceptsNewUsers, placementCost, pickPod).
 */
const PRELUDE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local function parsePod(id, v)
  if not v then return nil end
  local e, s, l, c, d, ttl, m = string.match(v, '^([^|]*)|([^|]*)|([^|]*)|([^|]*)|([^|]*)|([^|]*)|([^|]*)$')
  if not e then return nil end
  return { id = id, epoch = e, state = s, load = tonumber(l), cap = tonumber(c), deadline = tonumber(d), ttl = tonumber(ttl), move = m }
end
local function parseLink(v)
  if not v then return nil end
  local p, e, till = string.match(v, '^([^|]*)|([^|]*)|([^|]*)$')
  if not p then return nil end
  return { pod = p, epoch = e, till = tonumber(till) }
end
local podCache = {}
local function getPod(podsKey, id)
  local p = podCache[id]
  if p == nil then
    p = parsePod(id, redis.call('HGET', podsKey, id)) or false
    podCache[id] = p
  end
  return p or nil
end
local function judge(link, p)
  if link.till ~= 0 and link.till <= now then return 'expired' end
  if not p or p.deadline <= now then return 'dead' end
  if p.epoch ~= link.epoch then return 'epoch' end
  if p.state == 'F' then return 'forbidden' end
  if p.state == 'D' and p.move == '1' then return 'drain' end
  return 'ok'
end
local function addCount(countKey, pod, epoch, by)
  local f = pod .. '|' .. epoch
  local n = redis.call('HINCRBY', countKey, f, by)
  if n <= 0 then redis.call('HDEL', countKey, f) end
end
`;

/** KEYS pods, seq; ARGV pod, state, load, capacity, ttl, move, channel, service. Returns the new epoch. */
export const REGISTER = new LuaScript(
  `
local last = tonumber(redis.call('GET', KEYS[2]) or '0')
local epoch = math.max(last + 1, now)
redis.call('SET', KEYS[2], string.format('%d', epoch))
local e = string.format('%d', epoch)
redis.call('HSET', KEYS[1], ARGV[1], table.concat({ e, ARGV[2], ARGV[3], ARGV[4], string.format('%d', now + tonumber(ARGV[5])), ARGV[5], ARGV[6] }, '|'))
redis.call('PUBLISH', ARGV[7], ARGV[8])
return e
`,
  2,
);

/**
 * KEYS pods; ARGV pod, epoch, state, load, capacity, ttl, move, channel, service. Returns 1, or 0
 * when the incarnation is gone, replaced or past its deadline (it is never revived).
 */
export const HEARTBEAT = new LuaScript(
  `
local p = parsePod(ARGV[1], redis.call('HGET', KEYS[1], ARGV[1]))
if not p or p.epoch ~= ARGV[2] or p.deadline <= now then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], table.concat({ ARGV[2], ARGV[3], ARGV[4], ARGV[5], string.format('%d', now + tonumber(ARGV[6])), ARGV[6], ARGV[7] }, '|'))
if p.state ~= ARGV[3] or p.move ~= ARGV[7] then redis.call('PUBLISH', ARGV[8], ARGV[9]) end
return 1
`,
  1,
);

/** KEYS pods; ARGV pod, epoch, channel, service. */
export const REMOVE_POD = new LuaScript(
  `
local p = parsePod(ARGV[1], redis.call('HGET', KEYS[1], ARGV[1]))
if p and p.epoch == ARGV[2] then
  redis.call('HDEL', KEYS[1], ARGV[1])
  redis.call('PUBLISH', ARGV[3], ARGV[4])
end
return 1
`,
  1,
);

/** KEYS pods, count; returns { now, flat pods, flat counts }. */
export const LIST_PODS = new LuaScript(
  `
return { string.format('%d', now), redis.call('HGETALL', KEYS[1]), redis.call('HGETALL', KEYS[2]) }
`,
  2,
);

/** KEYS pods; ARGV pod, grace, channel, service. Returns 1 when the pod is dead (now). */
export const SUSPECT = new LuaScript(
  `
local p = parsePod(ARGV[1], redis.call('HGET', KEYS[1], ARGV[1]))
if not p or p.deadline <= now then return 1 end
local lastBeat = p.deadline - p.ttl
if now - lastBeat <= math.max(tonumber(ARGV[2]), p.ttl / 2) then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], table.concat({ p.epoch, p.state, p.load, p.cap, string.format('%d', now), p.ttl, p.move }, '|'))
redis.call('PUBLISH', ARGV[3], ARGV[4])
return 1
`,
  1,
);

const PICK = `
local counts = {}
local function pick(strategy, r1, r2)
  counts = {}
  local flat = redis.call('HGETALL', KEYS[2])
  for i = 1, #flat, 2 do counts[flat[i]] = flat[i + 1] end
  local all = redis.call('HGETALL', KEYS[1])
  local ids, epochs, costs, n = {}, {}, {}, 0
  for i = 1, #all, 2 do
    local e, s, l, c, d = string.match(all[i + 1], '^([^|]*)|(%a)|([^|]*)|([^|]*)|([^|]*)|')
    if s == 'N' then
      local cap = tonumber(c)
      if tonumber(d) > now and cap > 0 then
        n = n + 1
        ids[n], epochs[n] = all[i], e
        costs[n] = (tonumber(counts[all[i] .. '|' .. e] or '0') + 1) / cap * (1 + tonumber(l) / 100)
      end
    end
  end
  if n == 0 then return nil end
  local best
  if strategy == 'p2c' and n > 2 then
    local a = math.floor(r1 * n) + 1
    local b = math.floor(r2 * (n - 1)) + 1
    if b >= a then b = b + 1 end
    if costs[a] <= costs[b] then best = a else best = b end
  else
    local start = math.floor(r1 * n)
    local bestCost = math.huge
    for k = 0, n - 1 do
      local j = ((start + k) % n) + 1
      if costs[j] < bestCost then best, bestCost = j, costs[j] end
    end
  end
  return { id = ids[best], epoch = epochs[best], cost = costs[best] }
end
`;

/**
 * KEYS pods, count, links, moves; ARGV uid, strategy, r1, r2, moveBudget, moveInterval, rebalance
 * ratio (0 = off: a valid link on a NORMAL pod moves when its pod's cost exceeds ratio × the best's).
 * Returns { pod, epoch, outcome, from, reason } or false when no pod accepts new users.
 */
export const CLAIM = new LuaScript(
  `${PICK}
local uid = ARGV[1]
local link = parseLink(redis.call('HGET', KEYS[3], uid))
local from, reason = '', ''
local function spend()
  local used = redis.call('INCR', KEYS[4])
  if used == 1 then redis.call('PEXPIRE', KEYS[4], ARGV[6]) end
  return used <= tonumber(ARGV[5])
end
if link then
  local p = getPod(KEYS[1], link.pod)
  local v = judge(link, p)
  if v == 'drain' and not spend() then v = 'ok' end
  local ratio = tonumber(ARGV[7])
  if v == 'ok' and ratio > 0 and link.till == 0 and p.state == 'N' then
    local best = pick(ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4]))
    if best and best.id ~= link.pod then
      local mine = tonumber(counts[link.pod .. '|' .. link.epoch] or '0') / p.cap * (1 + p.load / 100)
      if mine > ratio * best.cost and spend() then
        addCount(KEYS[2], link.pod, link.epoch, -1)
        redis.call('HSET', KEYS[3], uid, best.id .. '|' .. best.epoch .. '|0')
        addCount(KEYS[2], best.id, best.epoch, 1)
        return { best.id, best.epoch, 'moved', link.pod, 'rebalance' }
      end
    end
  end
  if v == 'ok' then
    if link.till ~= 0 then
      redis.call('HSET', KEYS[3], uid, link.pod .. '|' .. link.epoch .. '|0')
      addCount(KEYS[2], link.pod, link.epoch, 1)
    end
    return { link.pod, link.epoch, 'hit', '', '' }
  end
  if v ~= 'expired' then
    from, reason = link.pod, v
    if link.till == 0 then addCount(KEYS[2], link.pod, link.epoch, -1) end
  end
end
local best = pick(ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4]))
if not best then
  if from ~= '' then redis.call('HDEL', KEYS[3], uid) end
  return false
end
redis.call('HSET', KEYS[3], uid, best.id .. '|' .. best.epoch .. '|0')
addCount(KEYS[2], best.id, best.epoch, 1)
if from ~= '' then return { best.id, best.epoch, 'moved', from, reason } end
return { best.id, best.epoch, 'created', '', '' }
`,
  4,
);

/**
 * KEYS pods, links; ARGV uids… Returns one string per uid: '' (no link, or released and past its
 * window) or "pod|epoch|till|valid" (valid 1 while the pod serves it).
 */
export const GET_LINKS = new LuaScript(
  `
local out = {}
for from = 1, #ARGV, 500 do
  local part = redis.call('HMGET', KEYS[2], unpack(ARGV, from, math.min(from + 499, #ARGV)))
  for j = 1, #part do
    local raw = part[j]
    local link = parseLink(raw)
    if link and not (link.till ~= 0 and link.till <= now) then
      local v = judge(link, getPod(KEYS[1], link.pod))
      out[from + j - 1] = raw .. ((v == 'ok' or v == 'drain') and '|1' or '|0')
    else
      out[from + j - 1] = ''
    end
  end
end
return out
`,
  2,
);

/**
 * KEYS pods, count, links; ARGV uid, pod, mode (absent|force|cas), expect, channel, link notice.
 * Returns { pod, epoch, changed, previous } or { 'ERR', reason } (unknown | unroutable).
 */
export const SET_LINK = new LuaScript(
  `
local uid, target, mode, expect = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local tp = getPod(KEYS[1], target)
if not tp then return { 'ERR', 'unknown' } end
local link = parseLink(redis.call('HGET', KEYS[3], uid))
local current, v = '', 'none'
if link then
  v = judge(link, getPod(KEYS[1], link.pod))
  if v == 'ok' or v == 'drain' then current = link.pod end
end
if mode == 'absent' and current ~= '' then return { link.pod, link.epoch, 0, link.pod } end
if mode == 'cas' and current ~= expect then
  if current == '' then return { '', '', 0, '' } end
  return { link.pod, link.epoch, 0, link.pod }
end
if tp.deadline <= now or tp.state == 'F' or (mode == 'absent' and tp.state ~= 'N') then return { 'ERR', 'unroutable' } end
if current == target and link.epoch == tp.epoch and link.till == 0 then return { link.pod, link.epoch, 0, link.pod } end
if link and link.till == 0 and v ~= 'expired' then addCount(KEYS[2], link.pod, link.epoch, -1) end
redis.call('HSET', KEYS[3], uid, target .. '|' .. tp.epoch .. '|0')
addCount(KEYS[2], target, tp.epoch, 1)
if current ~= '' and current ~= target then redis.call('PUBLISH', ARGV[5], ARGV[6]) end
return { target, tp.epoch, 1, current }
`,
  3,
);

/** KEYS count, links; ARGV uid, pod ('' = any), persistMs, channel, link notice. Returns 1 when released. */
export const REMOVE_LINK = new LuaScript(
  `
local link = parseLink(redis.call('HGET', KEYS[2], ARGV[1]))
if not link or (ARGV[2] ~= '' and link.pod ~= ARGV[2]) then return 0 end
if link.till ~= 0 then
  if link.till <= now then redis.call('HDEL', KEYS[2], ARGV[1]) return 0 end
  if tonumber(ARGV[3]) == 0 then redis.call('HDEL', KEYS[2], ARGV[1]) end
  return 1
end
addCount(KEYS[1], link.pod, link.epoch, -1)
local persist = tonumber(ARGV[3])
if persist > 0 then
  redis.call('HSET', KEYS[2], ARGV[1], link.pod .. '|' .. link.epoch .. '|' .. string.format('%d', now + persist))
else
  redis.call('HDEL', KEYS[2], ARGV[1])
end
redis.call('PUBLISH', ARGV[4], ARGV[5])
return 1
`,
  2,
);

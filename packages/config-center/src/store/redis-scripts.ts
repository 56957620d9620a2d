/**
 * The Redis config store's writes, each one Lua script so that the revision counter, the value,
 * its history and the change stream move together or not at all.
 *
 * KEYS: 1 revision counter, 2 value key, 3 history list, 4 change stream, 5 key index (zset)
 * ARGV: 1 type (put|delete|rollback), 2 key, 3 value, 4 expected revision ('' = any),
 *       5 author, 6 message, 7 now ms, 8 history limit, 9 stream max length, 10 rollback revision
 * Reply: {'ok', entryJson} | {'conflict', actualRevision} | {'missing'} | {'notfound'}
 */
export const WRITE_SCRIPT = `
local prevRaw = redis.call('GET', KEYS[2])
local prev = nil
if prevRaw then prev = cjson.decode(prevRaw) end
local actual = 0
if prev then actual = prev.revision end
if ARGV[4] ~= '' and tonumber(ARGV[4]) ~= actual then
  return {'conflict', tostring(actual)}
end
local kind = ARGV[1]
local value = ARGV[3]
local message = ARGV[6]
if kind == 'delete' and not prev then return {'missing'} end
if kind == 'rollback' then
  local target = tonumber(ARGV[10])
  local found = nil
  for _, raw in ipairs(redis.call('LRANGE', KEYS[3], 0, -1)) do
    local rec = cjson.decode(raw)
    if rec.revision == target and rec.type == 'put' then found = rec break end
  end
  if not found then return {'notfound'} end
  value = found.value
  if message == '' then message = 'rollback to revision ' .. ARGV[10] end
  kind = 'put'
end
local revision = redis.call('INCR', KEYS[1])
local entry = { key = ARGV[2], revision = revision, updatedAt = tonumber(ARGV[7]) }
if ARGV[5] ~= '' then entry.author = ARGV[5] end
if message ~= '' then entry.message = message end
if kind == 'put' then
  entry.value = value
  if prev then
    entry.createRevision = prev.createRevision
    entry.version = prev.version + 1
  else
    entry.createRevision = revision
    entry.version = 1
  end
else
  entry.value = prev.value
  entry.createRevision = prev.createRevision
  entry.version = prev.version
end
local json = cjson.encode(entry)
if kind == 'put' then
  redis.call('SET', KEYS[2], json)
  redis.call('ZADD', KEYS[5], 0, ARGV[2])
else
  redis.call('DEL', KEYS[2])
  redis.call('ZREM', KEYS[5], ARGV[2])
end
entry.type = kind
redis.call('LPUSH', KEYS[3], cjson.encode(entry))
redis.call('LTRIM', KEYS[3], 0, tonumber(ARGV[8]) - 1)
redis.call('XADD', KEYS[4], 'MAXLEN', '~', ARGV[9], revision .. '-1', 't', kind, 'k', ARGV[2], 'e', json)
return {'ok', json}
`;

/**
 * Every entry under a prefix and the revision they were read at, in one atomic read.
 * KEYS: 1 revision counter, 2 key index; ARGV: 1 value-key prefix, 2 lex min, 3 lex max
 */
export const LIST_SCRIPT = `
local keys = redis.call('ZRANGEBYLEX', KEYS[2], ARGV[2], ARGV[3])
local out = { redis.call('GET', KEYS[1]) or '0' }
for _, k in ipairs(keys) do
  local raw = redis.call('GET', ARGV[1] .. k)
  if raw then out[#out + 1] = raw end
end
return out
`;

-- One compare-and-set. KEYS[1]: the entity's hash. ARGV: Unix seconds, nanoseconds,
-- event id, TTL in milliseconds. Returns 1 (applied) or 0 (stale).
--
-- Seconds and nanoseconds are compared as two numbers (both exact in a Lua double),
-- and ids byte by byte, so the answer does not depend on the server's locale.
local function older(s, n, id, cs, cn, cid)
  if s ~= cs then return s < cs end
  if n ~= cn then return n < cn end
  local len, clen = #id, #cid
  for k = 1, math.min(len, clen) do
    local b, cb = string.byte(id, k), string.byte(cid, k)
    if b ~= cb then return b < cb end
  end
  return len < clen
end
local s, n, id = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3]
local cur = redis.call('HMGET', KEYS[1], 's', 'n', 'i')
if cur[1] and cur[2] and cur[3] and older(s, n, id, tonumber(cur[1]), tonumber(cur[2]), cur[3]) then
  return 0
end
redis.call('HSET', KEYS[1], 's', ARGV[1], 'n', ARGV[2], 'i', id)
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return 1

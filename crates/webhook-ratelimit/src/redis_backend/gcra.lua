-- GCRA with the same arithmetic as governor, in microseconds of the Redis server's
-- clock (so every instance of a fleet shares one clock).
--
-- KEYS[1]: the bucket. ARGV[1]: the emission interval T; ARGV[2]: the burst
-- tolerance tau = T x (burst - 1); ARGV[3]: the key TTL in ms (0: until the bucket is
-- full again). The stored value is the theoretical arrival time (TAT). Returns
-- {1, TAT - now} when the request conforms (and was counted), {0, wait} when it
-- does not (nothing is written).
local t = tonumber(ARGV[1])
local tau = tonumber(ARGV[2])
local ttl = tonumber(ARGV[3])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000000 + tonumber(clock[2])
local tat = tonumber(redis.call('GET', KEYS[1]))
if not tat or tat < now then
  tat = now
end
local earliest = tat - tau
if now < earliest then
  return {0, earliest - now}
end
local next_tat = tat + t
local px = ttl
if px <= 0 then
  px = math.ceil((next_tat - now) / 1000)
end
redis.call('SET', KEYS[1], string.format('%d', next_tat), 'PX', px)
return {1, next_tat - now}

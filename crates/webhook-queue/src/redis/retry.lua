-- KEYS[1] stream, KEYS[2] delayed set; ARGV[1] group, ARGV[2] entry,
-- ARGV[3] consumer, ARGV[4] delay in ms, ARGV[5] the job. If the consumer still
-- holds the entry: schedules the job at server time + delay and removes the entry, in
-- one step. Answers 1, or 0 if another consumer reclaimed the entry meanwhile.
local pending = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[2], ARGV[2], 1)
if #pending == 0 or pending[1][2] ~= ARGV[3] then
  return 0
end
local now = redis.call('TIME')
local due = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000) + tonumber(ARGV[4])
redis.call('ZADD', KEYS[2], due, ARGV[5])
redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
redis.call('XDEL', KEYS[1], ARGV[2])
return 1

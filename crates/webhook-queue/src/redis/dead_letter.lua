-- KEYS[1] stream, KEYS[2] dead stream; ARGV[1] group, ARGV[2] entry,
-- ARGV[3] consumer, ARGV[4] job, ARGV[5] kind, ARGV[6] error, ARGV[7] failed
-- at (Unix ms), ARGV[8] dead-letter bound (0: none). If the consumer still holds the
-- entry: adds the dead letter and removes the entry, in one step. Answers 1 or 0.
local pending = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[2], ARGV[2], 1)
if #pending == 0 or pending[1][2] ~= ARGV[3] then
  return 0
end
if ARGV[8] == '0' then
  redis.call('XADD', KEYS[2], '*', 'job', ARGV[4], 'kind', ARGV[5], 'error', ARGV[6], 'failed_at', ARGV[7])
else
  redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[8], '*', 'job', ARGV[4], 'kind', ARGV[5], 'error', ARGV[6], 'failed_at', ARGV[7])
end
redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
redis.call('XDEL', KEYS[1], ARGV[2])
return 1

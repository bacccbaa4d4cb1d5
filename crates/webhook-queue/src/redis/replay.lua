-- KEYS[1] dead stream, KEYS[2] stream, KEYS[3] delayed set; ARGV[1] dead
-- letter id, ARGV[2] the job (attempts reset), ARGV[3] the bound. Moves the dead
-- letter back to the stream in one step. Answers 1, 0 if it is gone, -1 if full.
if redis.call('XLEN', KEYS[2]) + redis.call('ZCARD', KEYS[3]) >= tonumber(ARGV[3]) then
  return -1
end
if redis.call('XDEL', KEYS[1], ARGV[1]) == 0 then
  return 0
end
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[3], '*', 'job', ARGV[2])
return 1

-- Claims an idempotency key.
-- KEYS[1] the key; ARGV[1] the claim (`c` + token); ARGV[2] the lease in ms.
-- Free: claims it, answers nil. Claimed: answers the lease's remaining ms.
-- Done: answers the record.
local current = redis.call('GET', KEYS[1])
if not current then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return false
end
if string.byte(current, 1) == 99 then
  return redis.call('PTTL', KEYS[1])
end
return current

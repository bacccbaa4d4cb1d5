-- Records the response of a processed delivery.
-- KEYS[1] the key; ARGV[1] the claim; ARGV[2] the record; ARGV[3] the retention in ms.
-- Writes the record if the claim still holds the key or the key is free; answers 1
-- if it wrote, 0 if another claim or a record is there.
local current = redis.call('GET', KEYS[1])
if current and current ~= ARGV[1] then
  return 0
end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
return 1

-- Extends a claim's lease.
-- KEYS[1] the key; ARGV[1] the claim; ARGV[2] the lease in ms. Sets the key's TTL to
-- the lease if the claim holds it; answers 1 if it did, else 0.
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0

-- KEYS[1] stream; ARGV[1] group, ARGV[2] entry. Acknowledges and deletes: the
-- stream holds only unfinished entries, so its length is the backlog.
redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
return redis.call('XDEL', KEYS[1], ARGV[2])

-- KEYS[1] stream, KEYS[2] delayed set, KEYS[3] (optional) the event's marker;
-- ARGV[1] the bound, ARGV[2] the job, ARGV[3] the dedupe window in ms. If the
-- marker is there, the event was queued already: answers {entry id} and adds
-- nothing. Refuses (nil) when the unfinished jobs reach the bound, so the MAXLEN ~
-- trim never removes an entry that was not processed; else adds the job, sets the
-- marker to its entry id, and answers the entry id.
if KEYS[3] then
  local queued = redis.call('GET', KEYS[3])
  if queued then
    return {queued}
  end
end
if redis.call('XLEN', KEYS[1]) + redis.call('ZCARD', KEYS[2]) >= tonumber(ARGV[1]) then
  return false
end
local entry = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', 'job', ARGV[2])
if KEYS[3] then
  redis.call('SET', KEYS[3], entry, 'PX', ARGV[3])
end
return entry

-- wrk script: posts pre-signed deliveries, each one once, from the files that
-- `webhook-load wrk-deliveries` writes (one file per wrk thread, every request the
-- same number of bytes: a whole HTTP/1.1 request with its signed body).
--
--   webhook-load wrk-deliveries --dir /tmp/deliveries --threads 2 --count 200000
--   wrk -t2 -c64 -d5s -s crates/webhook-load/wrk/deliveries.lua http://127.0.0.1:3000 -- /tmp/deliveries RECORD_BYTES
--
-- (`wrk-deliveries` prints RECORD_BYTES.) Each thread reads its file `DIR/<n>.http`
-- one request at a time. A thread that sends its whole file starts it over, and the
-- repeats are answered from the idempotency store: `done` reports `wrapped=1` then,
-- and the run does not count.
--
-- `done` prints one `webhook-load:` line with the totals, then one per latency
-- percentile from 0.1 to 100 in steps of 0.1, in microseconds; `webhook-load run
-- --client wrk` reads them.

-- In the main Lua state: the threads, numbered for their files, for `done`.
local threads = {}

function setup(thread)
  thread:set("thread_number", #threads)
  table.insert(threads, thread)
end

-- In each thread's Lua state (globals, so that `done` can read them).
sent = 0
wrapped = 0
local file, record

function init(args)
  local dir = assert(args[1], "usage: -- DIR RECORD_BYTES")
  record = assert(tonumber(args[2]), "usage: -- DIR RECORD_BYTES")
  file = assert(io.open(string.format("%s/%d.http", dir, thread_number), "rb"))
end

function request()
  local next = file:read(record)
  if next == nil or #next < record then
    wrapped = 1
    file:seek("set", 0)
    next = file:read(record)
  end
  sent = sent + 1
  return next
end

function done(summary, latency, requests)
  local any_wrapped = 0
  for _, thread in ipairs(threads) do
    if thread:get("wrapped") ~= 0 then
      any_wrapped = 1
    end
  end
  local errors = summary.errors
  io.write(string.format(
    "webhook-load: requests=%d non2xx=%d socket_errors=%d duration_us=%d wrapped=%d\n",
    summary.requests, errors.status,
    errors.connect + errors.read + errors.write + errors.timeout,
    summary.duration, any_wrapped))
  for step = 1, 1000 do
    local p = step / 10
    io.write(string.format("webhook-load: percentile %.1f %d\n", p, latency:percentile(p)))
  end
end

-- Pacing for the wrk scripts that hold a fixed total rate (paced.lua, soak.lua); wrk itself has no rate flag.
-- Each wrk thread owns an even share of the rate and hands its connections send slots spaced T/RATE seconds apart
-- (wrk's delay() hook, called before every request). With enough idle connections every slot is used on time, so the
-- achieved rate is RATE and wrk's latency is the service time of each request. A stall longer than (connections per
-- thread) slots would delay slots (coordinated omission), so keep C well above RATE x latency.
-- Load it from a script beside it: local pacing = dofile(HERE .. "pacing.lua"), HERE the script's own folder
-- (debug.getinfo(1, "S").source without its "@" and file name); then call pacing.start from init() and set delay = pacing.delay.
-- (wrk gives every thread a Lua state of its own, so each thread loads it and keeps its own slots).

local ffi = require("ffi")
ffi.cdef [[
  typedef struct { long tv_sec; long tv_nsec; } pacing_timespec;
  int clock_gettime(int clock, pacing_timespec *ts);
]]
local ts = ffi.new("pacing_timespec")
local function now_us()
  ffi.C.clock_gettime(1, ts) -- CLOCK_MONOTONIC
  return tonumber(ts.tv_sec) * 1000000 + tonumber(ts.tv_nsec) / 1000
end

local pacing = {}
local interval_us
local next_slot

-- Call from init(args): this thread's share of RATE requests/s over T threads.
function pacing.start(rate, threads)
  interval_us = threads * 1000000 / rate
  -- Start each thread at a random phase so the threads' slots interleave rather than coincide.
  math.randomseed(math.floor(now_us()) % 2147483647)
  next_slot = now_us() + math.random() * interval_us
end

-- wrk's delay() hook: milliseconds to wait before the next request.
function pacing.delay()
  local now = now_us()
  local slot = next_slot
  next_slot = next_slot + interval_us
  if slot <= now then
    return 0
  end
  return math.floor((slot - now) / 1000 + 0.5) -- wrk's timers have millisecond resolution
end

return pacing

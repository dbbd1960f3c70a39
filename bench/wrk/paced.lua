-- wrk script: the same request as chat.lua, paced to a fixed total rate (wrk itself has no rate flag).
-- Usage: wrk -tT -cC -d10s --latency -s paced.lua URL -- API_KEY RATE T
-- Each wrk thread owns an even share of the rate and hands its connections send slots spaced
-- T/RATE seconds apart (wrk's delay() hook, called before every request). With enough idle
-- connections every slot is used on time, so the achieved rate is RATE and wrk's latency is the
-- service time of each request. A stall longer than (connections per thread) slots would delay
-- slots (coordinated omission), so keep C well above RATE x latency.

local ffi = require("ffi")
ffi.cdef [[
  typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
  int clock_gettime(int clock, bench_timespec *ts);
]]
local ts = ffi.new("bench_timespec")
local function now_us()
  ffi.C.clock_gettime(1, ts) -- CLOCK_MONOTONIC
  return tonumber(ts.tv_sec) * 1000000 + tonumber(ts.tv_nsec) / 1000
end

local interval_us
local next_slot

function init(args)
  wrk.method = "POST"
  wrk.body = '{"model":"gpt-4.1","messages":['
    .. '{"role":"system","content":"You are a concise assistant for a logistics company. Answer in one or two sentences."},'
    .. '{"role":"user","content":"What is the capital of Singapore, and is it also the name of the country?"}],'
    .. '"max_tokens":64,"temperature":0.2,"user":"bench-user-1"}'
  wrk.headers["Content-Type"] = "application/json"
  if args[1] ~= nil and args[1] ~= "" then
    wrk.headers["Authorization"] = "Bearer " .. args[1]
  end
  local rate = tonumber(args[2] or "1000")
  local threads = tonumber(args[3] or "1")
  interval_us = threads * 1000000 / rate
  -- Start each thread at a random phase so the threads' slots interleave rather than coincide.
  math.randomseed(math.floor(now_us()) % 2147483647)
  next_slot = now_us() + math.random() * interval_us
end

function delay()
  local now = now_us()
  local slot = next_slot
  next_slot = next_slot + interval_us
  if slot <= now then
    return 0
  end
  return math.floor((slot - now) / 1000 + 0.5) -- wrk's timers have millisecond resolution
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "BENCH requests=%d duration_us=%d p50_us=%d p90_us=%d p99_us=%d max_us=%d "
      .. "connect=%d read=%d write=%d status=%d timeout=%d\n",
    summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    e.connect, e.read, e.write, e.status, e.timeout))
end

-- wrk script: POSTs a small OpenAI chat completion request as fast as the connections allow.
-- Usage: wrk -t2 -c64 -d10s --latency -s chat.lua URL -- [API_KEY]
-- Prints one machine-readable line (BENCH ...) when done; bench/run.sh parses it.

local body = '{"model":"gpt-4.1","messages":['
  .. '{"role":"system","content":"You are a concise assistant for a logistics company. Answer in one or two sentences."},'
  .. '{"role":"user","content":"What is the capital of Singapore, and is it also the name of the country?"}],'
  .. '"max_tokens":64,"temperature":0.2,"user":"bench-user-1"}'

function init(args)
  wrk.method = "POST"
  wrk.body = body
  wrk.headers["Content-Type"] = "application/json"
  if args[1] ~= nil and args[1] ~= "" then
    wrk.headers["Authorization"] = "Bearer " .. args[1]
  end
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

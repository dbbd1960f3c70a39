-- wrk script for bench/soak.sh: a paced mix of streamed and whole chat completions (OpenAI dialect), Anthropic
-- messages and OpenAI Responses, counting answers by kind.
-- Usage: wrk -tT -cC -dD -s soak.lua URL -- API_KEY RATE T
-- Mix, by request: 30% OpenAI streamed, 30% OpenAI whole, 20% Anthropic messages and 20% Responses (each half
-- streamed), served by a model
-- whose deployments fail as the simulator is told (5xx, 429, cut streams), with fallback to a second deployment.
-- Kinds: ok (2xx, streams ending with their end marker), status_NNN, stream_error (a 2xx stream carrying an error
-- event or missing its end marker). Prints one machine-readable line (SOAK ...) when done.

local pacing = dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "pacing.lua") -- paced like paced.lua
delay = pacing.delay

local threads = {}
local n = 0
kinds = {} -- global: done() reads it from each thread with thread:get

local openai_whole = '{"model":"soak","max_tokens":48,"messages":[{"role":"user","content":"Describe the port of Singapore briefly."}]}'
local openai_stream = '{"model":"soak","max_tokens":48,"stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"Write a short note on container shipping."}]}'
local anthropic_whole = '{"model":"soak","max_tokens":48,"messages":[{"role":"user","content":"Summarise customs clearance."}]}'
local anthropic_stream = '{"model":"soak","max_tokens":48,"stream":true,"messages":[{"role":"user","content":"List three freight terms."}]}'
local responses_whole = '{"model":"soak","max_output_tokens":48,"instructions":"Be brief.","input":"Explain a bill of lading."}'
local responses_stream = '{"model":"soak","max_output_tokens":48,"stream":true,"input":[{"role":"user","content":"Name two Incoterms."}]}'

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  key = args[1]
  pacing.start(tonumber(args[2] or "100"), tonumber(args[3] or "1"))
end

function request()
  n = n + 1
  local pick = n % 10
  local headers = { ["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. key }
  if pick < 3 then
    return wrk.format("POST", "/v1/chat/completions", headers, openai_stream)
  elseif pick < 6 then
    return wrk.format("POST", "/v1/chat/completions", headers, openai_whole)
  elseif pick == 6 then
    return wrk.format("POST", "/v1/responses", headers, responses_stream)
  elseif pick == 7 then
    return wrk.format("POST", "/v1/responses", headers, responses_whole)
  end
  headers["anthropic-version"] = "2023-06-01"
  if pick == 8 then
    return wrk.format("POST", "/v1/messages", headers, anthropic_stream)
  end
  return wrk.format("POST", "/v1/messages", headers, anthropic_whole)
end

local function count(kind)
  kinds[kind] = (kinds[kind] or 0) + 1
end

-- wrk keeps one request in flight per connection, and each thread runs its connections on one Lua state, so the
-- body type is read from the response itself.
function response(status, headers, body)
  if status < 200 or status >= 300 then
    count("status_" .. status)
    return
  end
  local ctype = headers["Content-Type"] or headers["content-type"] or ""
  if string.find(ctype, "text/event-stream", 1, true) then
    local ended = string.find(body, "data: [DONE]", 1, true) or string.find(body, "event: message_stop", 1, true)
      or string.find(body, "event: response.completed", 1, true) or string.find(body, "event: response.incomplete", 1, true)
    -- A Responses stream's events carry "error":null; its failures are named events.
    local responses = string.find(body, "event: response.created", 1, true)
    if string.find(body, "event: error", 1, true) or string.find(body, "event: response.failed", 1, true)
      or (not responses and string.find(body, '"error":', 1, true)) or not ended then
      count("stream_error")
    else
      count("ok_stream")
    end
  else
    count("ok_whole")
  end
end

function done(summary, latency, requests)
  local total = {}
  for _, thread in ipairs(threads) do
    local k = thread:get("kinds")
    for name, value in pairs(k) do
      total[name] = (total[name] or 0) + value
    end
  end
  local parts = {}
  for name, value in pairs(total) do
    table.insert(parts, name .. "=" .. value)
  end
  table.sort(parts)
  local e = summary.errors
  io.write(string.format("SOAK requests=%d duration_us=%d p50_us=%d p99_us=%d connect=%d read=%d write=%d timeout=%d %s\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.connect, e.read, e.write, e.timeout, table.concat(parts, " ")))
end

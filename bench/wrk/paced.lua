-- wrk script: the same request as chat.lua (and its BENCH line), paced to a fixed total rate (pacing.lua).
-- Usage: wrk -tT -cC -d10s --latency -s paced.lua URL -- API_KEY RATE T

local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(here .. "chat.lua")
local pacing = dofile(here .. "pacing.lua")
local chat_init = init

function init(args)
  chat_init(args)
  pacing.start(tonumber(args[2] or "1000"), tonumber(args[3] or "1"))
end

delay = pacing.delay

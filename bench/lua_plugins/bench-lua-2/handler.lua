-- Benchmark plugin: reads a request header and sets a response header (the Lua twin
-- of bench/plugins/bench_header_echo.py).
local kong = kong
local Plugin = { PRIORITY = 1002, VERSION = "1.0.0" }

function Plugin:access(conf)
  kong.response.set_header("X-Bench-Lua-2", kong.request.get_header("User-Agent") or "none")
end

return Plugin

-- Test plugin: fails in the response phase (the upstream body is buffered for it).
local kong = kong
local error = error

local LuaFaultResponse = {
  PRIORITY = 800,
  VERSION = "1.0.0",
}

function LuaFaultResponse:response(conf)
  kong.response.set_header("X-Partial", "set before the failure")
  error({ detail = "SECRET-DETAIL of lua-fault-response" })  -- a table, not a string
end

return LuaFaultResponse

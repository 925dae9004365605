-- compat-globals: what third-party plugins take from the global environment without
-- requiring it.  os.getenv at the top of the file (kong-splunk-log, kong-upstream-jwt
-- read their settings' defaults this way) and LuaSocket's `ltn12` global
-- (jwt-keycloak collects a socket.http answer with `ltn12.sink.table`).
local DECLARED = os.getenv("MG_COMPAT_DECLARED")
local HIDDEN = os.getenv("MG_COMPAT_HIDDEN")

local CompatGlobals = { PRIORITY = 860, VERSION = "1.0.0" }

function CompatGlobals:access(conf)
  local chunks = {}
  local ok = ltn12.pump.all(ltn12.source.string("chunked text"), (ltn12.sink.table(chunks)))
  kong.service.request.set_header("X-Env-Declared", tostring(DECLARED))
  kong.service.request.set_header("X-Env-Hidden", tostring(HIDDEN))
  kong.service.request.set_header("X-Env-Fixed", tostring(os.getenv("MG_COMPAT_FIXED")))
  kong.service.request.set_header("X-Ltn12", tostring(ok) .. ":" .. table.concat(chunks))
  kong.service.request.set_header("X-Socket-Global", type(socket.gettime))
end

return CompatGlobals

-- Test plugin: reports what Lua code sees of sensitive settings (as response headers)
-- and logs the serialized request (kong.log.serialize) in the log phase.
local kong = kong
local cjson = require "cjson"
local tostring = tostring

local LuaSecrets = {
  PRIORITY = 700,
  VERSION = "1.0.0",
}

function LuaSecrets:access(conf)
  local config = kong.configuration
  kong.response.set_header("X-Admin-Token", tostring(config.admin_token))
  kong.response.set_header("X-Pg-Password", tostring(config.pg_password))
  kong.response.set_header("X-Ssl-Cert-Key", tostring(config.ssl_cert_key))
  kong.response.set_header("X-Log-Level", tostring(config.log_level))
end

function LuaSecrets:log(conf)
  kong.log.notice("serialized: ", cjson.encode(kong.log.serialize()))
end

return LuaSecrets

-- A schema check shared with another plugin: the Lua code must compile (never run).
local sandbox = require "kong.tools.sandbox"

local _M = {}

function _M.lua_code(code)
  return sandbox.validate_safe(code)
end

return _M

-- Test plugin: the value of `conf.expression`, compiled by kong.tools.sandbox, goes
-- back in the X-Expression response header; `configuration` flags in X-Sandbox.
local sandbox = require "kong.tools.sandbox"

local Handler = { PRIORITY = 900, VERSION = "1.0.0" }

local compiled = setmetatable({}, { __mode = "k" })

function Handler:access(conf)
  local fn = compiled[conf]
  if not fn then
    fn = sandbox.sandbox(conf.expression)
    compiled[conf] = fn
  end
  kong.response.set_header("X-Expression", tostring(fn()))
  local c = sandbox.configuration
  kong.response.set_header("X-Sandbox", tostring(c.enabled) .. "|" .. tostring(c.sandbox_enabled)
    .. "|" .. type(c.environment.kong))
end

return Handler

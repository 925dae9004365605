-- `kong.plugins.base_plugin`: the class Kong 0.x-2.x plugins extended
-- (removed in Kong 3.0), so handlers written in that style run unmodified:
--
--   local BasePlugin = require "kong.plugins.base_plugin"
--   local MyHandler = BasePlugin:extend()
--   function MyHandler:new() MyHandler.super.new(self, "my-plugin") end
--   function MyHandler:access(conf)
--     MyHandler.super.access(self)
--     ...
--   end
--   return MyHandler
--
-- `new(name)` stores the name in `self._name`; each phase method only writes a
-- debug line, as Kong's did.  Kong 2.x instantiated such a handler once at load
-- (`handler = handler()` when `handler:is(BasePlugin)`) and ignored the phase
-- methods a plugin inherits from here: the plugin loader does the same.
-- Deviation: no `response` method (Kong 2.8 had one; a plugin may not have
-- `response` together with `header_filter`/`body_filter`, which every subclass
-- would otherwise inherit).
local _, H = ...
local tostring = tostring

local Object = H.require("kong.vendor.classic")
local BasePlugin = Object:extend()

local DEBUG = 8   -- ngx.DEBUG

local function debug_line(self, phase)
  local ngx = H.ngx
  if ngx and ngx.log then
    ngx.log(DEBUG, 'executing plugin "', tostring(self._name), '": ', phase)
  end
end

function BasePlugin:new(name)
  self._name = name
end

for _, phase in ipairs({ "init_worker", "certificate", "rewrite", "access",
                         "header_filter", "body_filter", "log" }) do
  BasePlugin[phase] = function(self)
    debug_line(self, phase)
  end
end

return BasePlugin

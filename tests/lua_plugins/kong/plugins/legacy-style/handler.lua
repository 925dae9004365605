-- A plugin written the Kong 1.x/2.x way, left as it was: a class extending
-- BasePlugin, calling the parent's phase methods, using kong.tools.utils.
local BasePlugin = require "kong.plugins.base_plugin"
local utils = require "kong.tools.utils"

local LegacyHandler = BasePlugin:extend()

LegacyHandler.PRIORITY = 900
LegacyHandler.VERSION = "0.1.0"

function LegacyHandler:new()
  LegacyHandler.super.new(self, "legacy-style")
end

function LegacyHandler:access(conf)
  LegacyHandler.super.access(self)

  local user = utils.strip(kong.request.get_header("x-user"))
  if utils.table_contains(conf.blocked, user) then
    return kong.response.exit(403, { message = "user " .. user .. " is blocked" })
  end

  local parts = utils.split(kong.request.get_header("x-parts") or "", ",")
  kong.service.request.set_header("X-Legacy-Parts", #parts)
  kong.service.request.set_header("X-Legacy-Query", utils.encode_args({ user = user, n = #parts }))
end

function LegacyHandler:header_filter(conf)
  LegacyHandler.super.header_filter(self)
  kong.response.set_header("X-Legacy", conf.tag)
end

return LegacyHandler

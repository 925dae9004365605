-- kong.reports: Kong's anonymous usage reports, as plugins see them.  Moongate never
-- sends reports: every call is accepted and does nothing, as Kong behaves with
-- `anonymous_reports = off`.  Ping values are remembered (get_ping_value returns them)
-- so code that reads back what it added keeps working.  rate-limiting and
-- response-ratelimiting call retrieve_redis_version(red), which does not touch Redis.
local type, error = type, error

local ping_values = {}

local function nothing() end

local _M = {}

function _M.init(kong_conf)
  if type(kong_conf) ~= "table" then error("kong_config must be a table", 2) end
end

_M.init_worker = nothing
_M.log = nothing
_M.admin_gui_log = nothing
_M.add_immutable_value = nothing
_M.retrieve_redis_version = nothing
_M._sync_counter = nothing

function _M._create_counter() return nil end

function _M.configure_ping(kong_conf)
  if type(kong_conf) ~= "table" then error("kong_config must be a table", 2) end
end

function _M.add_ping_value(k, v)
  ping_values[k] = v
end

function _M.get_ping_value(k)
  return ping_values[k]
end

--- Kong's switch: reports stay off whatever it is given.
_M.toggle = nothing

--- Never sends anything.
function _M.send() end

--- Never sends anything.
function _M.send_ping() end

return _M

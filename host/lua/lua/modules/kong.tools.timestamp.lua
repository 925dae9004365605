-- `kong.tools.timestamp`: UTC timestamps in milliseconds and the start of the
-- current second, minute, hour, day, month and year (kong/tools/timestamp.lua),
-- which rate-limiting plugins use as counter windows.  Pure Lua calendar maths.
local _, H = ...
local floor, error = math.floor, error

local time_ns = H.require("kong.tools.time").time_ns

--- Now, in ms since the epoch, with second precision.
local function get_utc()
  return floor(time_ns() / 1e9) * 1000
end

--- Now, in ms since the epoch.
local function get_utc_ms()
  return floor(time_ns() / 1e6)
end

-- values above this are milliseconds (it is the timestamp of year 20000, in seconds)
local MS_CHECK = 568971820800

local calendar = H.require "moongate.calendar"
local civil_from_days, days_from_civil = calendar.civil_from_days, calendar.days_from_civil

--- Timestamps (ms) of the start of the second, minute, hour, day, month and year
--- containing `now` (seconds or milliseconds; default: the current time).
local function get_timestamps(now)
  local ts = now or get_utc()
  if ts > MS_CHECK then ts = ts / 1000 end
  local sec = floor(ts)
  local days = floor(sec / 86400)
  local in_day = sec - days * 86400
  local y, m = civil_from_days(days)
  local day_start = days * 86400
  return {
    second = sec * 1000,
    minute = (sec - in_day % 60) * 1000,
    hour = (sec - in_day % 3600) * 1000,
    day = day_start * 1000,
    month = days_from_civil(y, m, 1) * 86400000,
    year = days_from_civil(y, 1, 1) * 86400000,
  }
end

local FIELDS = { "second", "minute", "hour", "day", "month", "year" }

return {
  get_utc = get_utc,
  get_utc_ms = get_utc_ms,
  get_timestamps = get_timestamps,
  -- the names of get_timestamps' fields, shortest period first; adding keys raises
  -- (Kong returns a read-only proxy, but this LuaJIT has no __ipairs/__len, and
  -- plugins iterate the list with ipairs)
  timestamp_table_fields = setmetatable(FIELDS, {
    __newindex = function() error("Attempt to modify read-only table", 2) end,
    __metatable = false,
  }),
}

-- luatz.timetable (daurnimator/luatz): broken-down UTC times.  `new(year, month, day,
-- hour, min, sec, yday, wday)`, `new_from_timestamp(ts)`; methods `timestamp()` (fields
-- out of range carry over, as luatz allows), `normalise()`/`normalize()`,
-- `rfc_3339()` (also tostring), `clone()`, `unpack()`; `==`, `<`, `<=` compare the
-- instants and `a - b` gives seconds.
local _, H = ...
local setmetatable, floor, format = setmetatable, math.floor, string.format

local _M = {}
local methods = {}
local mt = { __index = methods }

local calendar = H.require "moongate.calendar"
local days_from_civil, civil_from_days = calendar.days_from_civil, calendar.civil_from_days

local function timestamp(year, month, day, hour, min, sec)
  local m0 = month - 1
  year, month = year + floor(m0 / 12), m0 % 12 + 1
  return (days_from_civil(year, month, 1) + day - 1) * 86400 + hour * 3600 + min * 60 + sec
end

function methods:unpack()
  return assert(self.year, "year required"), assert(self.month, "month required"), assert(self.day, "day required"),
    self.hour or 12, self.min or 0, self.sec or 0, self.yday, self.wday
end

function methods:timestamp()
  local year, month, day, hour, min, sec = self:unpack()
  return timestamp(year, month, day, hour, min, sec)
end

function methods:normalise()
  local ts = self:timestamp()
  local days = floor(ts / 86400)
  local rest = ts - days * 86400
  self.year, self.month, self.day = civil_from_days(days)
  self.hour = floor(rest / 3600)
  self.min = floor((rest % 3600) / 60)
  self.sec = rest % 60
  self.yday = days - days_from_civil(self.year, 1, 1) + 1
  self.wday = (days + 4) % 7 + 1 -- 1970-01-01 was a Thursday; Sunday is 1
  return self
end
methods.normalize = methods.normalise

function methods:rfc_3339()
  local year, month, day, hour, min, sec = self:unpack()
  local whole = floor(sec)
  return format("%04d-%02d-%02dT%02d:%02d:%02d.%03d", year, month, day, hour, min, whole, floor((sec - whole) * 1000))
end

function methods:clone()
  return _M.new(self:unpack())
end

local function seconds(t) return type(t) == "table" and t:timestamp() or t end
mt.__tostring = methods.rfc_3339
mt.__eq = function(a, b) return a:timestamp() == b:timestamp() end
mt.__lt = function(a, b) return a:timestamp() < b:timestamp() end
mt.__le = function(a, b) return a:timestamp() <= b:timestamp() end
mt.__sub = function(a, b) return seconds(a) - seconds(b) end

function _M.new(year, month, day, hour, min, sec, yday, wday)
  return setmetatable({ year = year, month = month, day = day, hour = hour, min = min, sec = sec,
    yday = yday, wday = wday }, mt)
end

function _M.new_from_timestamp(ts)
  if type(ts) ~= "number" then error("timestamp expected, got " .. type(ts), 2) end
  return _M.new(1970, 1, 1, 0, 0, ts):normalise()
end

_M.timetable_mt = mt
_M.timestamp = timestamp
return _M

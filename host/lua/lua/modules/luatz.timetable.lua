-- luatz.timetable (daurnimator/luatz): broken-down UTC times.  `new(year, month, day,
-- hour, min, sec, yday, wday)`, `new_from_timestamp(ts)`; methods `timestamp()` (fields
-- out of range carry over, as luatz allows), `normalise()`/`normalize()`,
-- `rfc_3339()` (also tostring), `clone()`, `unpack()`; `==`, `<`, `<=` compare the
-- instants and `a - b` gives seconds.
local setmetatable, floor, format = setmetatable, math.floor, string.format

local _M = {}
local methods = {}
local mt = { __index = methods }

-- days since 1970-01-01 of a proleptic Gregorian date (month 1..12)
local function days_from_civil(y, m, d)
  if m <= 2 then y = y - 1 end
  local era = floor(y / 400)
  local yoe = y - era * 400
  local mp = (m + 9) % 12
  local doy = floor((153 * mp + 2) / 5) + d - 1
  local doe = yoe * 365 + floor(yoe / 4) - floor(yoe / 100) + doy
  return era * 146097 + doe - 719468
end

local function civil_from_days(z)
  z = z + 719468
  local era = floor(z / 146097)
  local doe = z - era * 146097
  local yoe = floor((doe - floor(doe / 1460) + floor(doe / 36524) - floor(doe / 146096)) / 365)
  local doy = doe - (365 * yoe + floor(yoe / 4) - floor(yoe / 100))
  local mp = floor((5 * doy + 2) / 153)
  local d = doy - floor((153 * mp + 2) / 5) + 1
  local m = mp < 10 and mp + 3 or mp - 9
  local y = yoe + era * 400 + (m <= 2 and 1 or 0)
  return y, m, d
end

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

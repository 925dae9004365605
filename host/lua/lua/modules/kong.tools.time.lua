-- `kong.tools.time`: Kong's clock helpers (kong/tools/time.lua): ngx.now-based
-- milliseconds, the request's start time, a monotonic clock, wall-clock
-- nanoseconds, and nginx time strings ("1h 30m") in seconds.
--
-- ngx.now/ngx.update_time are used when the `ngx` table provides them; otherwise
-- the clock is read from Python (time.time) on every call.
local B, H = ...
local type, error, byte, sub = type, error, string.byte, string.sub

local _M = {}

local ngx = H.ngx or {}
local now = ngx.now or B.now
local update_time = ngx.update_time or function() end
local start_time = B.start_time
local monotonic_ms = B.monotonic_ms

--- ngx.now() after refreshing nginx's cached time: epoch seconds (ms resolution).
function _M.get_updated_now()
  update_time()
  return now()
end

--- ngx.now() in milliseconds.
function _M.get_now_ms()
  return now() * 1000
end

--- ngx.now() in milliseconds after refreshing the cached time.
function _M.get_updated_now_ms()
  update_time()
  return now() * 1000
end

--- When the current request started (ngx.req.start_time) in milliseconds.
function _M.get_start_time_ms()
  return start_time() * 1000
end

--- A monotonic clock in milliseconds.
function _M.get_updated_monotonic_ms()
  update_time()
  return monotonic_ms()
end

--- Wall-clock time in nanoseconds since the epoch.
_M.time_ns = B.time_ns

-- ngx_parse_time(str, is_sec=1): units y M w d h m s, in that order, optional
-- spaces between them; a bare number is seconds; "ms" is not allowed
local UNITS = {
  y = { 1, 31536000 }, M = { 2, 2592000 }, w = { 3, 604800 }, d = { 4, 86400 },
  h = { 5, 3600 }, m = { 6, 60 }, s = { 7, 1 },
}
local SPACE_STEP = 8

local function parse_seconds(str)
  local i, len = 1, #str
  local step, value, total, valid = 0, 0, 0, false
  while i <= len do
    local b = byte(str, i)
    if b >= 48 and b <= 57 then
      value = value * 10 + (b - 48)
      valid = true
      i = i + 1
    else
      local c = sub(str, i, i)
      i = i + 1
      local unit = UNITS[c]
      if c == " " then
        if step >= UNITS.s[1] then return nil end
        step = SPACE_STEP
        total = total + value
      elseif unit then
        if c == "m" and sub(str, i, i) == "s" then return nil end
        if (c == "y" and step > 0) or (c ~= "y" and step >= unit[1]) then return nil end
        step = unit[1]
        total = total + value * unit[2]
      else
        return nil
      end
      value = 0
      while sub(str, i, i) == " " do i = i + 1 end
    end
  end
  if not valid then return nil end
  return total + value
end

--- An nginx time ("10s", "1h 30m", "2d") in seconds; raises on invalid input.
function _M.nginx_conf_time_to_seconds(str)
  local seconds = type(str) == "string" and parse_seconds(str)
  if not seconds then
    error("bad argument #1 'str'", 2)
  end
  return seconds
end

return _M

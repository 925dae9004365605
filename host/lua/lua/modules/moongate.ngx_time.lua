-- ngx time functions: time, now, update_time, today, localtime, utctime, http_time,
-- cookie_time, parse_http_time.  Only ngx.now() crosses to Python (for milliseconds),
-- and, as nginx's cached time, once per entry of the host into Lua (H.tick: a handler
-- call, a resume after I/O) or after ngx.update_time(); the rest is os.time/os.date
-- and string work.  Formats and limits are nginx's: dates
-- before 1970 print as the epoch and after 9999 as 9999-12-31 23:59:59, parse_http_time
-- accepts RFC 1123, RFC 850 and asctime dates and returns nil for anything else.
local B, H = ...

local type, error, floor, format, byte = type, error, math.floor, string.format, string.byte
local os_time, os_date = os.time, os.date
local py_now = B.now

local ngx = {}

function ngx.time() return os_time() end
local now_tick, now_value = -1, nil
function ngx.now()
  local tick = H.tick
  if tick ~= now_tick then
    now_value, now_tick = py_now(), tick
  end
  return now_value
end
function ngx.update_time() now_tick = -1 end
function ngx.today() return os_date("%Y-%m-%d") end
function ngx.localtime() return os_date("%Y-%m-%d %H:%M:%S") end
function ngx.utctime() return os_date("!%Y-%m-%d %H:%M:%S") end

local WEEK = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" }
local MONTHS = { "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" }
local MAX_TIME = 253402300799   -- 9999-12-31 23:59:59, nginx's last printable second

local function gmtime(sec)
  if type(sec) ~= "number" then error("number argument only", 3) end
  sec = sec >= 0 and floor(sec) or 0
  if sec > MAX_TIME then sec = MAX_TIME end
  return os_date("!*t", sec)
end

--- "Thu, 18 Nov 2010 11:27:35 GMT"
function ngx.http_time(sec)
  local t = gmtime(sec)
  return format("%s, %02d %s %4d %02d:%02d:%02d GMT",
    WEEK[t.wday], t.day, MONTHS[t.month], t.year, t.hour, t.min, t.sec)
end

--- "Thu, 18-Nov-10 11:27:35 GMT" (4-digit years after 2037)
function ngx.cookie_time(sec)
  local t = gmtime(sec)
  local year = t.year > 2037 and t.year or t.year % 100
  return format(t.year > 2037 and "%s, %02d-%s-%d %02d:%02d:%02d GMT" or "%s, %02d-%s-%02d %02d:%02d:%02d GMT",
    WEEK[t.wday], t.day, MONTHS[t.month], year, t.hour, t.min, t.sec)
end

---------------------------------------------------------------------------------
-- parse_http_time: nginx's lenient reader (weekday and zone are not checked)
---------------------------------------------------------------------------------
local MDAYS = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 }
local RFC822, RFC850, ISOC = 1, 2, 3

local days_from_civil = H.require("moongate.calendar").days_from_civil

local function month_of(c1, c2, c3)
  if c1 == 74 then return c2 == 97 and 1 or (c3 == 110 and 6 or 7) end  -- Jan / Jun / Jul
  if c1 == 70 then return 2 end                                            -- Feb
  if c1 == 77 then return c3 == 114 and 3 or 5 end                         -- Mar / May
  if c1 == 65 then return c2 == 112 and 4 or 8 end                         -- Apr / Aug
  if c1 == 83 then return 9 end
  if c1 == 79 then return 10 end
  if c1 == 78 then return 11 end
  if c1 == 68 then return 12 end
  return nil
end

function ngx.parse_http_time(str)
  if type(str) ~= "string" then error("string argument only", 2) end
  local len = #str
  local function at(i) return byte(str, i) or 0 end
  local function digits(i, n)   -- value of n digits at i, or nil
    local v = 0
    for k = i, i + n - 1 do
      local c = at(k)
      if c < 48 or c > 57 then return nil end
      v = v * 10 + c - 48
    end
    return v
  end

  local fmt, p = nil, 1
  while p <= len do
    local c = at(p)
    if c == 44 then break end                  -- ','
    if c == 32 then fmt = ISOC break end       -- ' '
    p = p + 1
  end
  p = p + 1
  while p <= len and at(p) == 32 do p = p + 1 end
  if len - p + 1 < 18 then return nil end

  local day, year
  if fmt ~= ISOC then
    day = digits(p, 2)
    if not day then return nil end
    p = p + 2
    if at(p) == 32 then
      if len - p + 1 < 18 then return nil end
      fmt = RFC822
    elseif at(p) == 45 then
      fmt = RFC850
    else
      return nil
    end
    p = p + 1
  end

  local month = month_of(at(p), at(p + 1), at(p + 2))
  if not month then return nil end
  p = p + 3
  if (fmt == RFC822 and at(p) ~= 32) or (fmt == RFC850 and at(p) ~= 45) then return nil end
  p = p + 1

  if fmt == RFC822 then
    year = digits(p, 4)
    if not year then return nil end
    p = p + 4
  elseif fmt == RFC850 then
    year = digits(p, 2)
    if not year then return nil end
    year = year + (year < 70 and 2000 or 1900)
    p = p + 2
  else
    if at(p) == 32 then p = p + 1 end
    day = digits(p, 1)
    if not day then return nil end
    p = p + 1
    if at(p) ~= 32 then
      local d2 = digits(p, 1)
      if not d2 then return nil end
      day = day * 10 + d2
      p = p + 1
    end
    if len - p + 1 < 14 then return nil end
  end

  if at(p) ~= 32 then return nil end
  local hour = digits(p + 1, 2)
  if not hour or at(p + 3) ~= 58 then return nil end
  local min = digits(p + 4, 2)
  if not min or at(p + 6) ~= 58 then return nil end
  local sec = digits(p + 7, 2)
  if not sec then return nil end
  if fmt == ISOC then
    if at(p + 9) ~= 32 then return nil end
    year = digits(p + 10, 4)
    if not year then return nil end
  end

  if hour > 23 or min > 59 or sec > 59 then return nil end
  if day == 29 and month == 2 then
    if year % 4 ~= 0 or (year % 100 == 0 and year % 400 ~= 0) then return nil end
  elseif day > MDAYS[month] then
    return nil
  end
  return days_from_civil(year, month, day) * 86400 + hour * 3600 + min * 60 + sec
end

return ngx

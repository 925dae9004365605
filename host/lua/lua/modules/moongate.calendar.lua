-- Proleptic Gregorian calendar maths shared by the time modules (moongate.ngx_time,
-- kong.tools.timestamp, luatz.timetable): days since 1970-01-01 to and from a year,
-- month (1..12) and day, for any year (Howard Hinnant's civil-days algorithms).
local floor = math.floor

local M = {}

--- Days since 1970-01-01 of year `y`, month `m`, day `d` (`d` may be 0 or past the month).
function M.days_from_civil(y, m, d)
  if m <= 2 then y = y - 1 end
  local era = floor(y / 400)
  local yoe = y - era * 400
  local mp = (m + 9) % 12
  local doy = floor((153 * mp + 2) / 5) + d - 1
  local doe = yoe * 365 + floor(yoe / 4) - floor(yoe / 100) + doy
  return era * 146097 + doe - 719468
end

--- Year, month, day of the day `z` days after 1970-01-01.
function M.civil_from_days(z)
  z = z + 719468
  local era = floor(z / 146097)
  local doe = z - era * 146097
  local yoe = floor((doe - floor(doe / 1460) + floor(doe / 36524) - floor(doe / 146096)) / 365)
  local doy = doe - (365 * yoe + floor(yoe / 4) - floor(yoe / 100))
  local mp = floor((5 * doy + 2) / 153)
  local d = doy - floor((153 * mp + 2) / 5) + 1
  local m = mp < 10 and mp + 3 or mp - 9
  return yoe + era * 400 + (m <= 2 and 1 or 0), m, d
end

return M

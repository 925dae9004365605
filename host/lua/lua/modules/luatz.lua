-- luatz (daurnimator/luatz), UTC part: `time()`, `now()` and `gmtime(ts)` (timetables),
-- `parse.rfc_3339`, `timetable`, `gettime`.  Time zones (`get_tz`, `time_in`,
-- `localtime`) are not provided: they raise an error saying so.
local _, H = ...
local timetable = H.require "luatz.timetable"
local gettime = H.require "luatz.gettime"

local function no_zones()
  error("luatz: time zones (tzinfo files) are not available in Moongate; times are UTC", 2)
end

return {
  gettime = gettime,
  parse = H.require "luatz.parse",
  timetable = timetable,
  time = gettime.gettime,
  now = function() return timetable.new_from_timestamp(gettime.gettime()) end,
  gmtime = function(ts) return timetable.new_from_timestamp(ts) end,
  get_tz = no_zones,
  time_in = no_zones,
  localtime = no_zones,
}

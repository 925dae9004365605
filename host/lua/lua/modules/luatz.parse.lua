-- luatz.parse: `rfc_3339(str, init?)` -> timetable (the written wall time, not
-- normalised), tz_offset in seconds (0 for Z, nil without a zone) | nil, err.
local _, H = ...
local new = H.require("luatz.timetable").new
local tonumber, match = tonumber, string.match

local function rfc_3339(str, init)
  local year, month, day, hour, min, sec, stop =
    match(str, "^(%d%d%d%d)%-(%d%d)%-(%d%d)[Tt](%d%d):(%d%d):(%d%d%.?%d*)()", init)
  if not year then return nil, "Invalid RFC 3339 timestamp" end
  local tt = new(tonumber(year, 10), tonumber(month, 10), tonumber(day, 10), tonumber(hour, 10),
    tonumber(min, 10), tonumber(sec))
  local offset
  if match(str, "^[Zz]", stop) then
    offset = 0
  else
    local hours, minutes = match(str, "^([+-]%d%d):(%d%d)", stop)
    if hours then
      local sign = hours:sub(1, 1) == "-" and -1 or 1
      offset = tonumber(hours, 10) * 3600 + sign * tonumber(minutes, 10) * 60
    end
  end
  return tt, offset
end

return { rfc_3339 = rfc_3339 }

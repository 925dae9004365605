-- luatz.gettime: `gettime()`, the current time in seconds with a fraction.
local _, H = ...
local now = H.require("kong.tools.time").get_updated_now
return { gettime = function() return now() end, source = "moongate" }

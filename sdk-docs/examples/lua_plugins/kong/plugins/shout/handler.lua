-- shout: a deliberate mistake, to show what a failing Lua plugin looks like.
-- Without an X-User header, `name` is nil and indexing it raises a Lua error.
local kong = kong

local Shout = {
  PRIORITY = 10,
  VERSION = "1.0.0",
}

local function shout(name)
  return name:upper() .. "!"
end

function Shout:access(conf)
  local user = kong.request.get_header("X-User")
  kong.service.request.set_header("X-User-Shouted", shout(user))
end

return Shout

-- Sits between Python plugins in one priority order and talks to them through
-- kong.ctx.shared.
local kong = kong
local Middle = { PRIORITY = 1500, VERSION = "1.0.0" }

function Middle:access(conf)
  local from_python = kong.ctx.shared.from_writer
  kong.service.request.set_header("X-Lua-Saw", from_python or "nothing")
  kong.ctx.shared.from_lua = "lua-was-here"
  kong.ctx.shared.lua_table = { n = 1 }
  local t = kong.ctx.shared.lua_table
  t.n = t.n + 1   -- the same table comes back: identity is kept
end

function Middle:header_filter(conf)
  kong.response.set_header("X-Lua-Table-N", kong.ctx.shared.lua_table.n)
  kong.response.set_header("X-Lua-Sees-Peer", kong.ctx.shared.from_peer or "nothing")
end

return Middle

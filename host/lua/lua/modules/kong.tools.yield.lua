-- `kong.tools.yield`: let other requests run during long loops (kong/tools/yield.lua).
-- `yield(in_loop?, phase?)` gives the event loop a turn (like ngx.sleep(0)) when
-- the phase may yield; with `in_loop` it does so only every 1000th call.
local B, H = ...
local co_isyieldable = coroutine.isyieldable

local _M = {}

-- OpenResty's yieldable phases (ngx_http_lua_util.h)
local YIELDABLE = {
  rewrite = true, server_rewrite = true, access = true, content = true, timer = true,
  ssl_client_hello = true, ssl_certificate = true, ssl_session_fetch = true, preread = true,
}

local get_phase = H.ngx and H.ngx.get_phase or function() return "timer" end

--- Whether `phase` (default: the current one) allows yielding.
function _M.in_yieldable_phase(phase)
  return YIELDABLE[phase or get_phase()]
end

local ITERATIONS = 1000
local counter = ITERATIONS

--- Yield to the event loop when allowed (every ITERATIONS calls with `in_loop`).
function _M.yield(in_loop, phase)
  if not YIELDABLE[phase or get_phase()] or not co_isyieldable() then
    return
  end
  if in_loop then
    counter = counter - 1
    if counter > 0 then return end
    counter = ITERATIONS
  end
  H.io("moongate.yield")
end

return _M

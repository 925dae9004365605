-- ngx.sleep and ngx.timer.at/every/running_count/pending_count.
--
-- ngx.sleep yields the handler's coroutine to the host, which resumes it after an
-- asyncio sleep: other requests run meanwhile.  Timer callbacks run later in their own
-- coroutine, with no request, as callback(premature, ...): the Python half
-- (host/lua/modules/moongate_ngx_timer.py) keeps them on the asyncio loop.
local B, H = ...
local type, select, error, tostring, floor = type, select, error, tostring, math.floor
local base = H.require("moongate.ngx_base")
local get_phase = base.get_phase

-- OpenResty contexts where the running code may yield (ngx.sleep, cosockets)
local YIELDABLE = {
  rewrite = true, access = true, content = true, timer = true, init_worker = true,
  ssl_cert = true, balancer = false,
}
local CONTEXT_NAMES = {
  header_filter = "header_filter_by_lua*", body_filter = "body_filter_by_lua*",
  log = "log_by_lua*", balancer = "balancer_by_lua*",
}

--- Error (at the plugin's line `level` up) unless the current phase may yield.
local function check_yieldable(level)
  local phase = get_phase()
  if not YIELDABLE[phase] then
    error("API disabled in the context of " .. (CONTEXT_NAMES[phase] or phase), level + 1)
  end
end
H.check_yieldable = check_yieldable

local ngx = {}

function ngx.sleep(seconds)
  if type(seconds) ~= "number" then
    error("bad argument #1 to 'sleep' (number expected, got " .. type(seconds) .. ")", 2)
  end
  if seconds < 0 then
    error("invalid sleep duration \"" .. floor(seconds * 1000) .. "\"", 2)
  end
  check_yieldable(2)
  H.io("ngx.sleep", seconds)
end

local add = B.add

local function schedule(fname, every, delay, callback, ...)
  if type(delay) ~= "number" then
    error("bad argument #1 to '" .. fname .. "' (number expected, got " .. type(delay) .. ")", 3)
  end
  if every and delay <= 0 then error("delay cannot be zero", 3) end
  if type(callback) ~= "function" then
    error("bad argument #2 to '" .. fname .. "' (Lua function expected)", 3)
  end
  local args = { n = select("#", ...), ... }
  return add(delay, callback, args, every, H.current_plugin())
end

-- (not tail calls: schedule's errors point at the plugin's line, two levels up)
ngx.timer = {
  at = function(delay, callback, ...)
    local ok, err = schedule("at", false, delay, callback, ...)
    return ok, err
  end,
  every = function(delay, callback, ...)
    local ok, err = schedule("every", true, delay, callback, ...)
    return ok, err
  end,
  running_count = B.running_count,
  pending_count = B.pending_count,
}

return ngx

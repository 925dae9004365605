-- Waits with ngx.sleep in access (other requests go on meanwhile) and schedules
-- ngx.timer callbacks on demand (`X-Timer: schedule|report|fail`).
local ngx = ngx
local kong = kong
local tostring, pcall, error = tostring, pcall, error

local Sleepy = {
  PRIORITY = 800,
  VERSION = "1.0.0",
}

-- what each timer callback saw, by the id the request gave it
local fired = {}

local function on_timer(premature, key, tag)
  ngx.sleep(0.01)  -- timers may wait for I/O too
  local _, var_err = pcall(function() return ngx.var.uri end)
  local isolated = ngx.ctx.seen == nil
  ngx.ctx.seen = true
  fired[key] = {
    premature = premature, phase = ngx.get_phase(), var_err = var_err,
    ctx_isolated = isolated, tag = tag,
  }
end

function Sleepy:access(conf)
  local mode = kong.request.get_header("X-Timer")
  local id = kong.request.get_header("X-Id")
  if mode == "schedule" then
    ngx.ctx.seen = "request"
    local ok, err = ngx.timer.at(conf.timer_delay, on_timer, id, "t-" .. id)
    return kong.response.exit(202, { ok = ok, err = err, pending = ngx.timer.pending_count() })
  elseif mode == "report" then
    local f = fired[id]
    if not f then return kong.response.exit(404, { message = "not fired" }) end
    return kong.response.exit(200, f)
  elseif mode == "fail" then
    ngx.timer.at(0, function() error("timer went wrong") end)
    return kong.response.exit(202)
  end
  ngx.sleep(conf.seconds)
  kong.response.set_header("X-Slept", tostring(conf.seconds))
end

function Sleepy:header_filter(conf)
  local ok, err = pcall(ngx.sleep, 0)
  if not ok then kong.response.set_header("X-Sleep-Error", err) end
end

return Sleepy

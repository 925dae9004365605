-- Test plugin: fails in the phase its config names; how = "raise" calls error(),
-- how = "hang" sleeps for an hour (access or rewrite: the phases that may wait).
local kong = kong
local ngx = ngx
local error = error

local LuaFault = {
  PRIORITY = 815,
  VERSION = "1.0.0",
}

local function maybe_fail(conf, phase)
  if conf.phase ~= phase then
    return
  end
  if conf.how == "hang" then
    ngx.sleep(3600)
    return
  end
  error("SECRET-DETAIL of lua-fault in " .. phase)
end

function LuaFault:rewrite(conf) maybe_fail(conf, "rewrite") end
function LuaFault:access(conf) maybe_fail(conf, "access") end
function LuaFault:header_filter(conf) maybe_fail(conf, "header_filter") end
function LuaFault:body_filter(conf) maybe_fail(conf, "body_filter") end
function LuaFault:log(conf) maybe_fail(conf, "log") end

return LuaFault

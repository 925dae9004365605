-- ngx.errlog (lua-resty-core): `raw_log(level, msg)` writes one line at that level,
-- without the file:line prefix ngx.log adds; it goes to Moongate's log like ngx.log's
-- lines.  `get_sys_filter_level()` is the configured log level; reading nginx's
-- error-log buffer (`set_filter_level`, `get_logs`) is not available (nil, err).
local _, H = ...
local ngx = H.ngx
local type, error = type, error

local _M = { version = "0.1.0" }

function _M.raw_log(level, msg)
  if type(level) ~= "number" then error("bad argument #1 to 'raw_log' (number expected)", 2) end
  if type(msg) ~= "string" then error("bad argument #2 to 'raw_log' (string expected)", 2) end
  ngx.log(level, msg)
end

local LEVELS = { debug = ngx.DEBUG, info = ngx.INFO, notice = ngx.NOTICE, warn = ngx.WARN,
                 error = ngx.ERR, err = ngx.ERR, crit = ngx.CRIT, alert = ngx.ALERT,
                 emerg = ngx.EMERG }

function _M.get_sys_filter_level()
  local conf = H.kong and H.kong.configuration
  local level = conf and conf.log_level
  return LEVELS[level] or ngx.NOTICE
end

function _M.set_filter_level()
  return nil, "ngx.errlog: the error-log buffer is not available in Moongate"
end

function _M.get_logs()
  return nil, "ngx.errlog: the error-log buffer is not available in Moongate"
end

return _M

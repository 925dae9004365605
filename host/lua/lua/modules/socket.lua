-- socket (LuaSocket's core module) as Kong plugins use it under OpenResty: the clock
-- (`socket.gettime()`, seconds with sub-second precision), `socket.sleep`, and, as
-- Kong's global patches do, `socket.tcp`/`socket.udp` as the cosockets of ngx.socket
-- (non-blocking).  `socket.protect`, `socket.newtry`, `socket.try` and `socket.skip`
-- follow LuaSocket.  socket.http, ssl.https and ltn12 are their own modules.
local _, H = ...
local ngx = H.ngx
local type, error, pcall, select, unpack = type, error, pcall, select, unpack

local _M = { _VERSION = "LuaSocket 3.0.0" }

--- Seconds since the epoch, with milliseconds (the clock is refreshed first).
function _M.gettime()
  ngx.update_time()
  return ngx.now()
end

--- Wait `seconds` without blocking the worker (ngx.sleep).
function _M.sleep(seconds)
  return ngx.sleep(seconds)
end

function _M.tcp(...)
  return ngx.socket.tcp(...)
end

function _M.udp(...)
  return ngx.socket.udp(...)
end

_M.connect = function(host, port)
  local sock = ngx.socket.tcp()
  local ok, err = sock:connect(host, port)
  if not ok then return nil, err end
  return sock
end

--- The arguments after the first `d`.
function _M.skip(d, ...)
  return select(d + 1, ...)
end

-- errors raised by `try` are wrapped so `protect` can tell them from other errors
local TRY_MT = {}

--- A function raising its second argument when its first is nil or false, after
--- calling `finalizer` (if any).
function _M.newtry(finalizer)
  return function(...)
    local ok = ...
    if ok then return ... end
    if type(finalizer) == "function" then pcall(finalizer) end
    error(setmetatable({ (select(2, ...)) }, TRY_MT), 0)
  end
end

_M.try = _M.newtry()

--- `f` turned into a function returning nil, err for the errors `try` raised.
function _M.protect(f)
  return function(...)
    local res = { pcall(f, ...) }
    if res[1] then return unpack(res, 2, table.maxn(res)) end
    local err = res[2]
    if type(err) == "table" and getmetatable(err) == TRY_MT then return nil, err[1] end
    error(err, 0)
  end
end

return _M

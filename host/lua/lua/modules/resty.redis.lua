-- resty.redis: lua-resty-redis's API over the host's Redis connections.
--
--   local redis = require "resty.redis"
--   local red = redis:new()
--   red:set_timeout(1000)
--   local ok, err = red:connect("127.0.0.1", 6379)
--   local n = red:incrby("hits", 1)
--   red:set_keepalive(10000, 100)
--
-- Every command is a method (generated on first use, as lua-resty-redis does); each one
-- yields the handler's coroutine to the host (H.io "resty.redis.*"), which talks to the
-- server with redis.asyncio (host/lua/modules/_redis_client.py).  Connections follow
-- OpenResty's cosocket model: pooled by name ("host:port" or opts.pool), state kept
-- across set_keepalive (hence get_reused_times), closed when their request is gone.
local B, H = ...
local type, select, tostring, tonumber, setmetatable, rawget, pairs, error =
  type, select, tostring, tonumber, setmetatable, rawget, pairs, error
local sub = string.sub
local host_io = H.io
local null = H.null
local check_yieldable = H.check_yieldable or function() end
local keepalive, reused_times = B.keepalive, B.reused_times

local _M = { _VERSION = "0.32" }
local mt = { __index = _M }

local DEFAULT_TIMEOUT = 60000

function _M.new()
  return setmetatable({ _timeouts = { DEFAULT_TIMEOUT, DEFAULT_TIMEOUT, DEFAULT_TIMEOUT } }, mt)
end

function _M.set_timeout(self, timeout)
  self._timeouts = { timeout, timeout, timeout }
end

function _M.set_timeouts(self, connect_timeout, send_timeout, read_timeout)
  self._timeouts = { connect_timeout, send_timeout, read_timeout }
end

function _M.connect(self, host, port_or_opts, opts)
  if type(host) ~= "string" then
    error("bad argument #1 host: string expected, got " .. type(host), 2)
  end
  if sub(host, 1, 5) == "unix:" then
    return nil, "unix domain sockets are not supported by Moongate's resty.redis"
  end
  local port = port_or_opts
  if type(port) ~= "number" then
    port = tonumber(port)
    if port == nil then
      error("bad argument #2 port: number expected, got " .. type(port_or_opts), 2)
    end
  end
  if opts ~= nil and type(opts) ~= "table" then
    error("bad argument #3 opts: nil or table expected, got " .. type(opts), 2)
  end
  opts = opts or {}
  check_yieldable(2)
  if rawget(self, "_id") then self:close() end
  self._subscribed = false
  local id, err = host_io("resty.redis.connect", host, port, opts.pool or (host .. ":" .. port),
    opts.ssl, opts.ssl_verify, self._timeouts[1])
  if not id then
    if opts.ssl and err ~= "timeout" and err ~= "connection refused" then
      err = "failed to do ssl handshake: " .. tostring(err)
    end
    return nil, err
  end
  self._id = id
  return 1
end

function _M.set_keepalive(self, max_idle_timeout, pool_size)
  local id = rawget(self, "_id")
  if not id then return nil, "closed" end
  if rawget(self, "_subscribed") then return nil, "subscribed state" end
  self._id = nil
  return keepalive(id, max_idle_timeout, pool_size)
end

function _M.get_reused_times(self)
  local id = rawget(self, "_id")
  if not id then return nil, "closed" end
  return reused_times(id)
end

function _M.close(self)
  local id = rawget(self, "_id")
  if not id then return nil, "closed" end
  self._id = nil
  return host_io("resty.redis.close", id)
end

local function gen_args(cmd, ...)
  local n = select("#", ...)
  local args = { cmd }
  for i = 1, n do
    local arg = select(i, ...)
    args[i + 1] = type(arg) == "string" and arg or tostring(arg)
  end
  return args
end

local function do_cmd(self, cmd, replies, ...)
  local prefix = rawget(self, "_module_prefix")
  if prefix then
    self._module_prefix = nil
    cmd = prefix .. "." .. cmd
  end
  local args = gen_args(cmd, ...)
  local reqs = rawget(self, "_reqs")
  if reqs then
    reqs[#reqs + 1] = args
    return
  end
  local id = rawget(self, "_id")
  if not id then return nil, "closed" end
  check_yieldable(3)
  local res, err = host_io("resty.redis.cmd", id, args, self._timeouts[3], replies)
  if res == nil and err == "timeout" then self._id = nil end
  return res, err
end

function _M.hmset(self, hashname, ...)
  if select("#", ...) == 1 then
    local t = ...
    local flat, n = {}, 0
    for k, v in pairs(t) do
      flat[n + 1], flat[n + 2], n = k, v, n + 2
    end
    return do_cmd(self, "hmset", 1, hashname, unpack(flat, 1, n))
  end
  return do_cmd(self, "hmset", 1, hashname, ...)
end

-- pub/sub: several channels give several replies; read_reply reads the next message
for _, cmd in ipairs({ "subscribe", "psubscribe" }) do
  _M[cmd] = function(self, ...)
    self._subscribed = true
    return do_cmd(self, cmd, math.max(1, select("#", ...)), ...)
  end
end
for _, cmd in ipairs({ "unsubscribe", "punsubscribe" }) do
  _M[cmd] = function(self, ...)
    if not rawget(self, "_subscribed") then return nil, "not subscribed" end
    local res, err = do_cmd(self, cmd, math.max(1, select("#", ...)), ...)
    if type(res) == "table" then
      local last = type(res[1]) == "table" and res[#res] or res
      if last[3] == 0 then self._subscribed = false end
    end
    return res, err
  end
end

function _M.read_reply(self)
  local id = rawget(self, "_id")
  if not id then return nil, "closed" end
  if not rawget(self, "_subscribed") then return nil, "not subscribed" end
  return host_io("resty.redis.read", id, self._timeouts[3])
end

function _M.init_pipeline(self)
  self._reqs = {}
end

function _M.cancel_pipeline(self)
  self._reqs = nil
end

function _M.commit_pipeline(self)
  local reqs = rawget(self, "_reqs")
  if not reqs then return nil, "no pipeline" end
  self._reqs = nil
  local id = rawget(self, "_id")
  if not id then return nil, "closed" end
  check_yieldable(2)
  return host_io("resty.redis.pipeline", id, reqs, self._timeouts[3])
end

function _M.array_to_hash(_, t)
  local h = {}
  for i = 1, #t, 2 do h[t[i]] = t[i + 1] end
  return h
end

function _M.register_module_prefix(mod)
  _M[mod] = function(self)
    self._module_prefix = mod
    return self
  end
end

function _M.add_commands(...)
  for i = 1, select("#", ...) do
    local cmd = select(i, ...)
    _M[cmd] = function(self, ...) return do_cmd(self, cmd, 1, ...) end
  end
end


-- any other command: a method generated on first use (red:get, red:incrby, red:eval, ...)
setmetatable(_M, {
  __index = function(_, cmd)
    if type(cmd) ~= "string" or sub(cmd, 1, 1) == "_" then return nil end
    local method = function(self, ...) return do_cmd(self, cmd, 1, ...) end
    _M[cmd] = method
    return method
  end,
})

return _M

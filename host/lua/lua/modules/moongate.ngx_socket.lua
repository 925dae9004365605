-- ngx.socket.tcp, ngx.socket.udp and ngx.socket.connect: OpenResty's cosockets.
--
--   local sock = ngx.socket.tcp()
--   sock:settimeout(1000)
--   local ok, err = sock:connect("127.0.0.1", 5000)
--   local bytes, err = sock:send("hello\n")
--   local line, err, partial = sock:receive()      -- "*l", "*a" or a byte count
--   sock:setkeepalive(60000, 10)                   -- back to the pool "127.0.0.1:5000"
--
-- Operations that wait yield the handler's coroutine to the host (H.io
-- "ngx.socket.*"), which uses asyncio streams (host/lua/modules/_cosockets.py), so
-- other requests run meanwhile.  As in OpenResty they may not be used in
-- header_filter, body_filter or log (use ngx.timer.at there, as Kong's log plugins do),
-- and a socket a request opened is closed when the request is gone.
local B, H = ...
local type, tostring, tonumber, setmetatable, error, select, concat =
  type, tostring, tonumber, setmetatable, error, select, table.concat
local sub, find = string.sub, string.find
local host_io = H.io
local check_yieldable = H.check_yieldable or function() end
local close_sock, keepalive, reused_times = B.close, B.setkeepalive, B.getreusedtimes
local udp_send, udp_close = B.udp_send, B.udp_close

local DEFAULT_TIMEOUT = 60000  -- lua_socket_connect/send/read_timeout

local function flatten(data, out)
  for i = 1, #data do
    local v = data[i]
    local t = type(v)
    if t == "table" then
      flatten(v, out)
    elseif t == "string" or t == "number" then
      out[#out + 1] = tostring(v)
    elseif t == "boolean" then
      out[#out + 1] = v and "true" or "false"
    elseif v == nil then
      out[#out + 1] = "nil"
    else
      error("bad data type " .. t .. " found", 3)
    end
  end
  return out
end

local function payload(data)
  local t = type(data)
  if t == "string" then return data end
  if t == "number" then return tostring(data) end
  if t == "boolean" then return data and "true" or "false" end
  if t == "nil" then return "nil" end
  if t == "table" then return concat(flatten(data, {})) end
  error("bad argument #1 to 'send' (string, number, boolean, nil, or array table expected, got " .. t .. ")", 3)
end

local function address(host, port, who)
  if type(host) ~= "string" then
    error("bad argument #1 to '" .. who .. "' (string expected, got " .. type(host) .. ")", 3)
  end
  if sub(host, 1, 5) == "unix:" then return host, nil end
  local p = tonumber(port)
  if p == nil then
    error("bad argument #2 to '" .. who .. "' (number expected, got " .. type(port) .. ")", 3)
  end
  if p < 0 or p > 65535 then
    error("bad port number: " .. tostring(port), 3)
  end
  return host, p
end

-- TCP -------------------------------------------------------------------------------------
local tcp = {}
local tcp_mt = { __index = tcp }

local function new_tcp()
  return setmetatable({ _timeouts = { DEFAULT_TIMEOUT, DEFAULT_TIMEOUT, DEFAULT_TIMEOUT } }, tcp_mt)
end

function tcp.settimeout(self, ms)
  self._timeouts = { ms, ms, ms }
end

function tcp.settimeouts(self, connect_ms, send_ms, read_ms)
  self._timeouts = { connect_ms, send_ms, read_ms }
end

function tcp.setoption()
  return true
end

function tcp.connect(self, host, port, opts)
  if type(port) == "table" and opts == nil then opts, port = port, nil end
  local h, p = address(host, port, "connect")
  if opts ~= nil and type(opts) ~= "table" then
    error("bad argument #3 to 'connect' (table expected, got " .. type(opts) .. ")", 2)
  end
  check_yieldable(2)
  if self._id then self:close() end
  local pool = opts and opts.pool or (p and (h .. ":" .. p) or h)
  local id, err = host_io("ngx.socket.tcp.connect", h, p, pool, self._timeouts[1])
  if not id then return nil, err end
  self._id = id
  return 1
end

function tcp.sslhandshake(self, reused_session, server_name, ssl_verify)
  if not self._id then return nil, "closed" end
  check_yieldable(2)
  local ok, err = host_io("ngx.socket.tcp.sslhandshake", self._id, server_name, ssl_verify and true or false,
    self._timeouts[1])
  if not ok then
    self._id = nil
    return nil, err
  end
  return true  -- OpenResty returns a session userdata; Moongate has no session reuse
end

function tcp.send(self, data)
  if not self._id then return nil, "closed" end
  check_yieldable(2)
  return host_io("ngx.socket.tcp.send", self._id, payload(data), self._timeouts[2])
end

function tcp.receive(self, pattern)
  if not self._id then return nil, "closed" end
  if pattern == nil then pattern = "*l" end
  if type(pattern) == "number" then
    if pattern < 0 then error("bad argument #2 to 'receive' (bad pattern argument)", 2) end
    if pattern == 0 then return "" end
  elseif pattern ~= "*l" and pattern ~= "*a" then
    if type(pattern) == "string" and (pattern == "*L" or find(pattern, "^%*")) then
      error("bad argument #2 to 'receive' (bad pattern argument: " .. pattern .. ")", 2)
    end
    local n = tonumber(pattern)
    if not n then error("bad argument #2 to 'receive' (bad pattern argument)", 2) end
    pattern = n
  end
  check_yieldable(2)
  return host_io("ngx.socket.tcp.receive", self._id, pattern, self._timeouts[3])
end

function tcp.receiveany(self, max)
  if not self._id then return nil, "closed" end
  max = tonumber(max)
  if not max or max <= 0 then error("bad argument #2 to 'receiveany' (bad max argument)", 2) end
  check_yieldable(2)
  return host_io("ngx.socket.tcp.receiveany", self._id, max, self._timeouts[3])
end

function tcp.receiveuntil(self, pattern, options)
  if type(pattern) ~= "string" or pattern == "" then
    error("bad argument #2 to 'receiveuntil' (pattern is empty)", 2)
  end
  local inclusive = type(options) == "table" and options.inclusive and true or false
  local buffered  -- what a sized read left over
  return function(size)
    if not self._id then return nil, "closed" end
    check_yieldable(2)
    if buffered == nil then
      local data, err, partial = host_io("ngx.socket.tcp.receiveuntil", self._id, pattern, inclusive,
        self._timeouts[3])
      if not data then return nil, err, partial end
      if not size then return data end
      buffered = data
    end
    if not size then
      local rest = buffered
      buffered = nil
      return rest
    end
    if #buffered <= size then
      local rest = buffered
      buffered = nil
      if rest == "" then return nil end
      return rest
    end
    local chunk = sub(buffered, 1, size)
    buffered = sub(buffered, size + 1)
    return chunk
  end
end

function tcp.close(self)
  local id = self._id
  if not id then return nil, "closed" end
  self._id = nil
  return close_sock(id)
end

function tcp.setkeepalive(self, timeout, size)
  local id = self._id
  if not id then return nil, "closed" end
  self._id = nil
  return keepalive(id, timeout, size)
end

function tcp.getreusedtimes(self)
  if not self._id then return nil, "closed" end
  return reused_times(self._id)
end

-- UDP -------------------------------------------------------------------------------------
local udp = {}
local udp_mt = { __index = udp }

local function new_udp()
  return setmetatable({ _timeout = DEFAULT_TIMEOUT }, udp_mt)
end

function udp.settimeout(self, ms)
  self._timeout = ms
end

function udp.setpeername(self, host, port)
  local h, p = address(host, port, "setpeername")
  check_yieldable(2)
  if self._id then self:close() end
  local id, err = host_io("ngx.socket.udp.setpeername", h, p)
  if not id then return nil, err end
  self._id = id
  return 1
end

function udp.send(self, data)
  if not self._id then return nil, "closed" end
  return udp_send(self._id, payload(data))
end

function udp.receive(self, size)
  if not self._id then return nil, "closed" end
  check_yieldable(2)
  return host_io("ngx.socket.udp.receive", self._id, tonumber(size) or 8192, self._timeout)
end

function udp.close(self)
  local id = self._id
  if not id then return nil, "closed" end
  self._id = nil
  return udp_close(id)
end

local socket = { tcp = new_tcp, udp = new_udp, stream = new_tcp }

function socket.connect(host, port, opts)
  local sock = new_tcp()
  local ok, err = sock:connect(host, port, opts)
  if not ok then return nil, err end
  return sock
end

return { socket = socket }

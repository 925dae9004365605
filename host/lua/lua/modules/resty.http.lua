-- resty.http: lua-resty-http's API as Kong plugins use it, over the host's HTTP client.
--
--   local httpc = require("resty.http").new()
--   httpc:set_timeouts(1000, 1000, 5000)
--   local res, err = httpc:request_uri("http://api.local/v1/x", { method = "POST", body = b })
--
-- Each request yields the handler's coroutine to the host (H.io "resty.http"), which
-- sends it with the runtime's shared aiohttp session (host/lua/modules/_http_client.py)
-- and resumes with the whole response: `res.body_reader`/`res:read_body()` then read
-- from memory.  `connect` only records where to connect (connection errors surface at
-- `request`); pooling and keep-alive are the session's.  Errors use OpenResty's wording.
local _, H = ...
local type, pairs, ipairs, tostring, tonumber, setmetatable = type, pairs, ipairs, tostring, tonumber, setmetatable
local rawget, rawset, error, pcall = rawget, rawset, error, pcall
local lower, upper, sub, gsub, format, byte, find = string.lower, string.upper, string.sub, string.gsub,
  string.format, string.byte, string.find
local concat = table.concat
local host_io = H.io

local check_yieldable = H.check_yieldable or function() end

local _M = {
  _VERSION = "0.17.2",
  _USER_AGENT = "lua-resty-http/0.17.2 (Lua) ngx_lua/10026",
}
local mt = { __index = _M }

local DEFAULT_TIMEOUT = 60000
local EXPECTING_BODY = { POST = true, PUT = true, PATCH = true }

--- A headers table whose lookups ignore case (lua-resty-http's http_headers.new()).
local function new_headers()
  local normalised = {}
  return setmetatable({}, {
    __index = function(t, k)
      if type(k) ~= "string" then return nil end
      local key = normalised[lower(k)]
      if key ~= nil then return rawget(t, key) end
    end,
    __newindex = function(t, k, v)
      local lk = lower(tostring(k))
      local key = normalised[lk]
      if key == nil then
        normalised[lk] = k
        rawset(t, k, v)
      else
        rawset(t, key, v)
      end
    end,
  })
end
_M.new_headers = new_headers

local function escape(s)
  return (gsub(tostring(s), "[^%w%-%._~]", function(c) return format("%%%02X", byte(c)) end))
end

local function encode_args(args)
  local parts = {}
  for k, v in pairs(args) do
    if v == true then
      parts[#parts + 1] = escape(k)
    elseif type(v) == "table" then
      for _, item in ipairs(v) do parts[#parts + 1] = escape(k) .. "=" .. escape(item) end
    elseif v ~= false and v ~= nil then
      parts[#parts + 1] = escape(k) .. "=" .. escape(v)
    end
  end
  return concat(parts, "&")
end

function _M.new()
  return setmetatable({ timeouts = { DEFAULT_TIMEOUT, DEFAULT_TIMEOUT, DEFAULT_TIMEOUT }, keepalive = true }, mt)
end

function _M.set_timeout(self, timeout)
  self.timeouts = { timeout, timeout, timeout }
end

function _M.set_timeouts(self, connect_timeout, send_timeout, read_timeout)
  self.timeouts = { connect_timeout, send_timeout, read_timeout }
end

function _M.set_proxy_options(self, opts)
  self.proxy_opts = opts
end

--- scheme, host, port, path, query of a URI (query in the path unless query_in_path is false).
function _M.parse_uri(_, uri, query_in_path)
  if query_in_path == nil then query_in_path = true end
  if type(uri) ~= "string" then return nil, "bad uri: " .. tostring(uri) end
  local scheme, rest = uri:match("^(https?)://(.*)$")
  if not scheme then
    rest = uri:match("^//(.*)$")
    if not rest then return nil, "bad uri: " .. uri end
    local ok, current = pcall(function() return H.ngx.var.scheme end)
    if not ok or (current ~= "http" and current ~= "https") then
      return nil, "schemaless URIs require a request context: " .. uri
    end
    scheme = current
  end
  local host, after
  if sub(rest, 1, 1) == "[" then
    host, after = rest:match("^(%[[^%]]+%])(.*)$")
  else
    host, after = rest:match("^([^/:?]+)(.*)$")
  end
  if not host then return nil, "bad uri: " .. uri end
  local port, tail = after:match("^:(%d+)(.*)$")
  if port then after = tail end
  port = tonumber(port) or (scheme == "https" and 443 or 80)
  local path, query = after:match("^([^?]*)%??(.*)$")
  if path == "" then path = "/" end
  if query_in_path and query ~= "" then
    return { scheme, host, port, path .. "?" .. query }
  end
  return { scheme, host, port, path, query }
end

function _M.connect(self, options, port, opts)
  local conn
  if type(options) == "table" then
    conn = {
      scheme = options.scheme or "http", host = options.host,
      port = options.port, ssl_verify = options.ssl_verify ~= false,
      server_name = options.ssl_server_name,
    }
    if options.proxy_opts then self.proxy_opts = options.proxy_opts end
  else   -- the deprecated TCP-only form: connect(host, port, opts)
    conn = { scheme = "http", host = options, port = port, ssl_verify = true }
  end
  if type(conn.host) ~= "string" then
    error("bad argument #2 to 'connect' (host must be a string)", 2)
  end
  if sub(conn.host, 1, 5) == "unix:" then
    return nil, "unix domain sockets are not supported by Moongate's resty.http"
  end
  conn.port = tonumber(conn.port) or (conn.scheme == "https" and 443 or 80)
  self.conn = conn
  self.keepalive = true
  return true
end

--- TLS on the recorded connection (the deprecated two-step form).
function _M.ssl_handshake(self, _, server_name, ssl_verify)
  if not self.conn then return nil, "closed" end
  self.conn.scheme = "https"
  self.conn.server_name = server_name
  self.conn.ssl_verify = ssl_verify ~= false
  return true
end

local function proxy_for(self, scheme, host)
  local opts = self.proxy_opts
  if not opts then return nil end
  local no_proxy = opts.no_proxy
  if no_proxy then
    if no_proxy == "*" then return nil end
    for entry in no_proxy:gmatch("[^,%s]+") do
      local suffix = sub(entry, 1, 1) == "." and entry or "." .. entry
      if host == entry or sub(host, -#suffix) == suffix then return nil end
    end
  end
  return scheme == "https" and opts.https_proxy or opts.http_proxy
end

local function read_all(body)
  local t = type(body)
  if t == "nil" or t == "string" then return body end
  if t == "table" then
    local parts = {}
    for i, v in ipairs(body) do parts[i] = tostring(v) end
    return concat(parts)
  end
  if t == "function" then
    local parts = {}
    while true do
      local chunk = body()
      if chunk == nil then break end
      parts[#parts + 1] = chunk
    end
    return concat(parts)
  end
  return tostring(body)
end

local function body_reader_of(data)
  local pos = 1
  return function(size)
    if pos > #data then return nil end
    local stop = size and pos + size - 1 or #data
    local chunk = sub(data, pos, stop)
    pos = stop + 1
    return chunk
  end
end

local function read_body(res)
  local reader = res.body_reader
  local parts = {}
  while true do
    local chunk = reader()
    if chunk == nil then break end
    parts[#parts + 1] = chunk
  end
  return concat(parts)
end

local function no_trailers() return nil, "no trailers" end

function _M.request(self, params)
  local conn = self.conn
  if not conn then return nil, "closed" end
  check_yieldable(2)
  params = params or {}
  local method = upper(params.method or "GET")
  local query = params.query or ""
  if type(query) == "table" then query = encode_args(query) end
  if query ~= "" and sub(query, 1, 1) ~= "?" then query = "?" .. query end
  local headers, n, has_ua = {}, 0, false
  for k, v in pairs(params.headers or {}) do
    k = tostring(k)
    if lower(k) == "user-agent" then has_ua = true end
    if type(v) == "table" then
      for _, item in ipairs(v) do headers[n + 1], headers[n + 2], n = k, tostring(item), n + 2 end
    else
      headers[n + 1], headers[n + 2], n = k, tostring(v), n + 2
    end
  end
  if not has_ua then headers[n + 1], headers[n + 2] = "User-Agent", _M._USER_AGENT end
  local body = read_all(params.body)
  if body == nil and EXPECTING_BODY[method] then
    return nil, "Request body is nil but " .. method .. " method expects a body. "
      .. "Use an empty string \"\" if you want to send an empty body."
  end
  local url = conn.scheme .. "://" .. conn.host .. ":" .. conn.port .. (params.path or "/") .. query
  local t = self.timeouts
  local status, reason, raw, data = host_io("resty.http", method, url, headers, body, t[1], t[2], t[3],
    conn.ssl_verify, conn.server_name, proxy_for(self, conn.scheme, conn.host))
  if not status then return nil, reason end
  local res_headers = new_headers()
  for i = 1, #raw, 2 do
    local name, value = raw[i], raw[i + 1]
    local prev = res_headers[name]
    if prev == nil then res_headers[name] = value
    elseif type(prev) == "table" then prev[#prev + 1] = value
    else res_headers[name] = { prev, value } end
  end
  local connection = res_headers["Connection"]
  if type(connection) == "string" and find(lower(connection), "close", 1, true) then
    self.keepalive = false
  end
  local has_body = method ~= "HEAD" and status ~= 204 and status ~= 304 and status >= 200
  return {
    status = status, reason = reason, headers = res_headers, has_body = has_body,
    body_reader = body_reader_of(has_body and data or ""), read_body = read_body,
    read_trailers = no_trailers,
  }
end

function _M.request_pipeline(self, requests)
  local responses = {}
  for i, params in ipairs(requests) do
    local res, err = self:request(params)
    if not res then return nil, err end
    responses[i] = res
  end
  return responses
end

function _M.request_uri(self, uri, params)
  params = params or {}
  local parsed, err = self:parse_uri(uri, false)
  if not parsed then return nil, err end
  local copy = {}
  for k, v in pairs(params) do copy[k] = v end
  copy.scheme, copy.host, copy.port = parsed[1], parsed[2], parsed[3]
  copy.path = params.path or parsed[4]
  copy.query = params.query or parsed[5]
  copy.ssl_server_name = params.ssl_server_name or parsed[2]
  local ok
  ok, err = self:connect(copy)
  if not ok then return nil, err end
  local res
  res, err = self:request(copy)
  if not res then return nil, err end
  res.body = res:read_body()
  return res
end

function _M.set_keepalive(self)
  if not self.conn then return nil, "closed" end
  self.conn = nil
  if not self.keepalive then return 2, "connection must be closed" end
  return 1
end

function _M.get_reused_times(self)
  if not self.conn then return nil, "closed" end
  return 0
end

function _M.close(self)
  if not self.conn then return nil, "closed" end
  self.conn = nil
  return 1
end

--- An iterator over the client's request body (already read by Moongate), or nil.
function _M.get_client_body_reader(_, chunksize)
  local data = H.ngx.req.get_body_data()
  if not data then return nil end
  local reader = body_reader_of(data)
  chunksize = chunksize or 65536
  return function(size) return reader(size or chunksize) end
end

return _M

-- ngx core for Lua plugins: constants, ngx.log/print/say, ngx.var, ngx.req, ngx.resp,
-- ngx.header, ngx.status, ngx.exit/redirect/eof/flush, ngx.arg, ngx.ctx, ngx.worker,
-- ngx.config, ngx.get_phase.
--
-- Request data lives on the one request context (host/context.py); the Python half
-- (host/lua/modules/moongate_ngx_base.py) reads and writes it with the PDK's own
-- functions, so `ngx.req.set_header` and `kong.service.request.set_header` are one
-- operation.  Errors use OpenResty's wording and point at the plugin's line.
local B, H = ...
local select, tostring, type, concat = select, tostring, type, table.concat
local setmetatable, getmetatable, rawset, error, pairs = setmetatable, getmetatable, rawset, error, pairs
local null, RAISE, EXIT = H.null, H.RAISE, H.EXIT

local ngx = {}

ngx.null = null

-- nginx core return codes and log levels
ngx.OK, ngx.ERROR, ngx.AGAIN, ngx.DONE, ngx.DECLINED = 0, -1, -2, -4, -5
ngx.STDERR, ngx.EMERG, ngx.ALERT, ngx.CRIT, ngx.ERR = 0, 1, 2, 3, 4
ngx.WARN, ngx.NOTICE, ngx.INFO, ngx.DEBUG = 5, 6, 7, 8

-- HTTP status constants, and OpenResty's method numbers (ngx.req.set_method takes these)
local constants = {
  HTTP_CONTINUE = 100, HTTP_SWITCHING_PROTOCOLS = 101, HTTP_OK = 200, HTTP_CREATED = 201,
  HTTP_ACCEPTED = 202, HTTP_NO_CONTENT = 204, HTTP_PARTIAL_CONTENT = 206,
  HTTP_SPECIAL_RESPONSE = 300, HTTP_MOVED_PERMANENTLY = 301, HTTP_MOVED_TEMPORARILY = 302,
  HTTP_SEE_OTHER = 303, HTTP_NOT_MODIFIED = 304, HTTP_TEMPORARY_REDIRECT = 307,
  HTTP_PERMANENT_REDIRECT = 308, HTTP_BAD_REQUEST = 400, HTTP_UNAUTHORIZED = 401,
  HTTP_PAYMENT_REQUIRED = 402, HTTP_FORBIDDEN = 403, HTTP_NOT_FOUND = 404,
  HTTP_NOT_ALLOWED = 405, HTTP_NOT_ACCEPTABLE = 406, HTTP_REQUEST_TIMEOUT = 408,
  HTTP_CONFLICT = 409, HTTP_GONE = 410, HTTP_UPGRADE_REQUIRED = 426,
  HTTP_TOO_MANY_REQUESTS = 429, HTTP_CLOSE = 444, HTTP_ILLEGAL = 451,
  HTTP_INTERNAL_SERVER_ERROR = 500, HTTP_METHOD_NOT_IMPLEMENTED = 501,
  HTTP_BAD_GATEWAY = 502, HTTP_SERVICE_UNAVAILABLE = 503, HTTP_GATEWAY_TIMEOUT = 504,
  HTTP_VERSION_NOT_SUPPORTED = 505, HTTP_INSUFFICIENT_STORAGE = 507,
  HTTP_GET = 2, HTTP_HEAD = 4, HTTP_POST = 8, HTTP_PUT = 16, HTTP_DELETE = 32,
  HTTP_MKCOL = 64, HTTP_COPY = 128, HTTP_MOVE = 256, HTTP_OPTIONS = 512,
  HTTP_PROPFIND = 1024, HTTP_PROPPATCH = 2048, HTTP_LOCK = 4096, HTTP_UNLOCK = 8192,
  HTTP_PATCH = 16384, HTTP_TRACE = 32768,
}
for k, v in pairs(constants) do ngx[k] = v end

-- A public function over a Python one: RAISE becomes an error at the caller's line,
-- EXIT ends the handler.  (Not a tail call, so that level 2 is the plugin's code.)
-- `results` is how many values OpenResty's function returns: 0 (none), 1 (exactly one,
-- so `f(ngx.req.get_body_data())` passes one argument) or 2 (`value, err`: the second
-- only when there is one, e.g. `args, "truncated"` or `nil, err`).
local function api(pyfn, results)
  if results == 0 then
    return function(...)
      local a, b = pyfn(...)
      if a == RAISE then error(b, 2) end
      if a == EXIT then return H.exit() end
    end
  elseif results == 1 then
    return function(...)
      local a, b = pyfn(...)
      if a == RAISE then error(b, 2) end
      if a == EXIT then return H.exit() end
      return a
    end
  end
  return function(...)
    local a, b = pyfn(...)
    if a == RAISE then error(b, 2) end
    if a == EXIT then return H.exit() end
    if b == nil then return a end
    return a, b
  end
end

-- For metamethods: the plugin's code is one level further up.
local function checked(a, b)
  if a == RAISE then error(b, 3) end
  return a
end

---------------------------------------------------------------------------------
-- text: ngx.log, print, and the values ngx.say/ngx.print accept
---------------------------------------------------------------------------------
local pylog = B.log
local function text(...)
  local n = select("#", ...)
  local parts = {}
  for i = 1, n do
    local v = select(i, ...)
    if type(v) == "string" then parts[i] = v
    elseif v == null then parts[i] = "null"
    else parts[i] = tostring(v) end
  end
  return concat(parts)
end

function ngx.log(level, ...)
  if type(level) ~= "number" then
    error("bad argument #1 to 'log' (number expected, got " .. type(level) .. ")", 2)
  end
  pylog(level, text(...))
end

--- print(...): ngx.log(ngx.NOTICE, ...)
function ngx.print_log(...) pylog(6, text(...)) end
H.print = ngx.print_log

local function flatten(fname, parts, n, v)
  local t = type(v)
  if t == "string" then
    n = n + 1; parts[n] = v
  elseif t == "number" or t == "boolean" or t == "nil" then
    n = n + 1; parts[n] = tostring(v)
  elseif v == null then
    n = n + 1; parts[n] = "null"
  elseif t == "table" then
    for i = 1, #v do n = flatten(fname, parts, n, v[i]) end
  else
    error("bad argument to '" .. fname .. "' (string, number, boolean, nil, ngx.null, or array "
      .. "table expected, got " .. t .. ")", 4)
  end
  return n
end

local function output_text(fname, ...)
  local parts, n = {}, 0
  for i = 1, select("#", ...) do n = flatten(fname, parts, n, (select(i, ...))) end
  return concat(parts, "", 1, n)
end

---------------------------------------------------------------------------------
-- the response: ngx.say/print/exit/redirect/eof/flush, ngx.header, ngx.resp, ngx.arg
---------------------------------------------------------------------------------
local output = B.output
function ngx.print(...)
  local ok, err = output(output_text("print", ...))
  if ok == RAISE then error(err, 2) end
  return ok
end
function ngx.say(...)
  local ok, err = output(output_text("say", ...) .. "\n")
  if ok == RAISE then error(err, 2) end
  return ok
end
function ngx.flush() return 1 end
ngx.eof = api(B.eof, 2)

local py_exit, py_redirect = B.exit, B.redirect
function ngx.exit(status)
  local a, b = py_exit(status)
  if a == RAISE then error(b, 2) end
  return H.exit()
end
function ngx.redirect(uri, status)
  local a, b = py_redirect(uri, status)
  if a == RAISE then error(b, 2) end
  return H.exit()
end

local header_get, header_set, header_set_many = B.header_get, B.header_set, B.header_set_many
ngx.header = setmetatable({}, {
  __index = function(_, k) return checked(header_get(k)) end,
  __newindex = function(_, k, v)
    if type(v) == "number" then v = tostring(v) end -- as nginx does; no number crosses
    checked(header_set(k, v))
  end,
})
--- ngx.header[k] = v for each k, v of `headers` (string keys), in one crossing.
function H.set_response_headers(headers)
  local flat, n = {}, 0
  for k, v in pairs(headers) do
    flat[n + 1], flat[n + 2], n = k, type(v) == "number" and tostring(v) or v, n + 2
  end
  if n > 0 then checked(header_set_many(unpack(flat, 1, n))) end
end

-- get_headers tables: lower-case keys, looked up case-insensitively with `_` for `-`
local lower, gsub, rawget = string.lower, string.gsub, rawget
local HEADERS_MT = H.HEADERS_MT or {
  __index = function(t, k)
    if type(k) == "string" then
      local n = gsub(lower(k), "_", "-")
      if n ~= k then return rawget(t, n) end
    end
  end,
}
local function headers_getter(pyfn)
  return function(max, raw)
    local h, err = pyfn(max, raw)
    if h == RAISE then error(err, 2) end
    if not raw and type(h) == "table" then setmetatable(h, HEADERS_MT) end
    if err == nil then return h end
    return h, err -- `headers, "truncated"`
  end
end

ngx.resp = { get_headers = headers_getter(B.resp_get_headers) }

local arg_get, arg_set = B.arg_get, B.arg_set
ngx.arg = setmetatable({}, {
  __index = function(_, k) return checked(arg_get(k)) end,
  __newindex = function(_, k, v)
    if k == 1 and type(v) ~= "string" and v ~= nil then v = output_text("ngx.arg", v) end
    checked(arg_set(k, v))
  end,
})

ngx.is_subrequest = false
ngx.location = setmetatable({}, {
  __index = function(_, k)
    error("ngx.location." .. tostring(k) .. " is not available in Moongate: there are no nginx "
      .. "locations or subrequests (call the service with resty.http instead)", 2)
  end,
})

---------------------------------------------------------------------------------
-- ngx.var: nginx variables as Kong's runloop fills them (host/lua/modules/_ngx_vars.py)
---------------------------------------------------------------------------------
local var_get, var_set = B.var_get, B.var_set
ngx.var = setmetatable({}, {
  __index = function(_, k) return checked(var_get(k)) end,
  __newindex = function(_, k, v) checked(var_set(k, v)) end,
})

---------------------------------------------------------------------------------
-- ngx.req: the request (as it will be sent upstream)
---------------------------------------------------------------------------------
local req = {
  get_headers = headers_getter(B.req_get_headers),
  set_header = api(B.req_set_header, 0),
  clear_header = api(B.req_clear_header, 0),
  get_uri_args = api(B.req_get_uri_args, 2),
  get_query_args = api(B.req_get_uri_args, 2),
  get_post_args = api(B.req_get_post_args, 2),
  get_method = api(B.req_get_method, 1),
  set_method = api(B.req_set_method, 0),
  http_version = api(B.req_http_version, 1),
  start_time = api(B.req_start_time, 1),
  raw_header = api(B.req_raw_header, 1),
  set_uri = api(B.req_set_uri, 0),
  set_uri_args = api(B.req_set_uri_args, 0),
  get_body_data = api(B.req_get_body_data, 1),
  set_body_data = api(B.req_set_body_data, 0),
  is_internal = api(B.req_is_internal, 1),
}
-- Moongate reads the body before the plugins run and never spools it to a file
function req.read_body() end
function req.discard_body() end
function req.get_body_file() return nil end
function req.set_body_file()
  error("ngx.req.set_body_file is not available in Moongate (bodies are never spooled to "
    .. "files): use ngx.req.set_body_data", 2)
end
function req.socket()
  error("ngx.req.socket is not available in Moongate", 2)
end

local set_body_data = req.set_body_data
local function body_buffer(level)
  local R = H.current()
  if R == nil or R.ngx_body == nil then error("request_body not initialized", level + 1) end
  return R
end
function req.init_body()
  local R = H.current()
  if R == nil then error("no request found", 2) end
  R.ngx_body = {}
end
function req.append_body(data)
  local buf = body_buffer(2).ngx_body
  buf[#buf + 1] = data
end
function req.finish_body()
  local R = body_buffer(2)
  local data = concat(R.ngx_body)
  R.ngx_body = nil
  set_body_data(data)
end
ngx.req = req

---------------------------------------------------------------------------------
-- phase, worker, config
---------------------------------------------------------------------------------
local get_phase = B.get_phase
function ngx.get_phase() return get_phase() end

ngx.worker = {
  id = B.worker_id,
  pid = B.worker_pid,
  count = B.worker_count,
  exiting = B.worker_exiting,
}

ngx.config = {
  subsystem = "http",
  ngx_lua_version = 10026,
  nginx_version = 1025003,
  debug = false,
  prefix = B.prefix,
  nginx_configure = function() return "" end,
}

---------------------------------------------------------------------------------
-- dynamic fields: ngx.ctx, ngx.status, ngx.headers_sent
---------------------------------------------------------------------------------
-- Keys Kong's core keeps in ngx.ctx: read through the PDK unless the plugin set them
-- itself; setting the consumer/credential authenticates, as it does in Kong.
local FALLBACK = {
  authenticated_consumer = true, authenticated_credential = true, route = true,
  service = true, router_matches = true, authenticated_groups = true,
}
local AUTH = { authenticated_consumer = true, authenticated_credential = true }
local ctx_fallback, ctx_authenticate = B.ctx_fallback, B.ctx_authenticate
local CTX_MT = {
  __index = function(_, k)
    if FALLBACK[k] then return checked(ctx_fallback(k)) end
  end,
  __newindex = function(t, k, v)
    if AUTH[k] then return checked(ctx_authenticate(k, v)) end
    rawset(t, k, v)
  end,
}

local function with_compat(t)
  if getmetatable(t) == nil then setmetatable(t, CTX_MT) end
  return t
end

local getters, setters = {}, {}
getters.ctx = function()
  local R = H.current()
  if R == nil then return {} end
  return with_compat(R.ngx_ctx)
end
setters.ctx = function(v)
  local R = H.current()
  if R ~= nil and type(v) == "table" then R.ngx_ctx = with_compat(v) end
end

-- reached through moongate.ngx's __index/__newindex: the plugin is one more level up
local function checked_field(a, b)
  if a == RAISE then error(b, 4) end
  return a
end
local status_get, status_set, headers_sent = B.status_get, B.status_set, B.headers_sent
getters.status = function() return checked_field(status_get()) end
setters.status = function(v) checked_field(status_set(v)) end
getters.headers_sent = function() return headers_sent() end
ngx.__meta = { get = getters, set = setters }

return ngx

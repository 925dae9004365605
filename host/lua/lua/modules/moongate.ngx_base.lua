-- ngx core: constants, ngx.ctx, ngx.log/print, ngx.get_phase, ngx.worker, ngx.config.
local B, H = ...
local select, tostring, type, concat = select, tostring, type, table.concat

local ngx = {}

ngx.null = H.null

-- nginx core return codes and log levels
ngx.OK, ngx.ERROR, ngx.AGAIN, ngx.DONE, ngx.DECLINED = 0, -1, -2, -4, -5
ngx.STDERR, ngx.EMERG, ngx.ALERT, ngx.CRIT, ngx.ERR = 0, 1, 2, 3, 4
ngx.WARN, ngx.NOTICE, ngx.INFO, ngx.DEBUG = 5, 6, 7, 8

-- HTTP status and method constants
local statuses = {
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
  HTTP_GET = "GET", HTTP_HEAD = "HEAD", HTTP_PUT = "PUT", HTTP_POST = "POST",
  HTTP_DELETE = "DELETE", HTTP_OPTIONS = "OPTIONS", HTTP_MKCOL = "MKCOL", HTTP_COPY = "COPY",
  HTTP_MOVE = "MOVE", HTTP_PROPFIND = "PROPFIND", HTTP_PROPPATCH = "PROPPATCH",
  HTTP_LOCK = "LOCK", HTTP_UNLOCK = "UNLOCK", HTTP_PATCH = "PATCH", HTTP_TRACE = "TRACE",
}
for k, v in pairs(statuses) do ngx[k] = v end

-- ngx.log(level, ...): arguments concatenated (nil/booleans as text), like OpenResty
local pylog = B.log
local function text(...)
  local n = select("#", ...)
  local parts = {}
  for i = 1, n do
    local v = select(i, ...)
    local t = type(v)
    if t == "string" then parts[i] = v
    elseif t == "number" or t == "nil" or t == "boolean" then parts[i] = tostring(v)
    elseif v == H.null then parts[i] = "null"
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

-- ngx.ctx: one table per request (nil-safe outside requests: a throwaway table)
local get_phase = B.get_phase
function ngx.get_phase() return get_phase() end

ngx.worker = {
  id = B.worker_id,
  pid = B.worker_pid,
  count = B.worker_count,
  exiting = function() return false end,
}

ngx.config = {
  subsystem = "http",
  ngx_lua_version = 10026,
  nginx_version = 1025003,
  debug = false,
  prefix = B.prefix,
  nginx_configure = function() return "" end,
}

local getters, setters = {}, {}
getters.ctx = function()
  local R = H.current()
  if R == nil then return {} end
  return R.ngx_ctx
end
setters.ctx = function(v)
  local R = H.current()
  if R ~= nil and type(v) == "table" then R.ngx_ctx = v end
end
ngx.__meta = { get = getters, set = setters }

return ngx

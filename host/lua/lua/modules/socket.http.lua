-- socket.http (LuaSocket's HTTP client) over the host's non-blocking HTTP client: Kong
-- plugins call it (JWKS and discovery downloads, webhooks), and under Moongate a call
-- suspends only the handler's coroutine, as a cosocket does.
--   body, code, headers, status = http.request(url [, body])      -- simple form
--   1, code, headers, status = http.request{ url =, method =, headers =, source =,
--                                            sink =, redirect =, step = }
-- The simple form with a body is a POST of application/x-www-form-urlencoded.
-- Response header names are lowercase; `status` is the status line.  Redirects
-- (301, 302, 303, 307, 308) are followed for GET and HEAD unless `redirect = false`,
-- at most 5 times.  Errors are `nil, err`.  `http.TIMEOUT` (seconds) bounds each
-- request.  `proxy` and `create` are not supported.
local _, H = ...
local resty_http = H.require("resty.http")
local url = H.require("socket.url")
local ltn12 = H.require("ltn12")

local type, pairs, tostring, upper, lower, concat = type, pairs, tostring, string.upper,
  string.lower, table.concat

local _M = { TIMEOUT = 60, USERAGENT = "LuaSocket 3.0.0", PORT = 80, SCHEME = "http" }
local REDIRECTS = { [301] = true, [302] = true, [303] = true, [307] = true, [308] = true }

local function lower_headers(headers)
  local out = {}
  for k, v in pairs(headers) do
    if type(v) == "table" then v = concat(v, ", ") end
    out[lower(k)] = v
  end
  return out
end

--- One request (after redirects): 1, code, headers, status, or nil, err.
local function generic(reqt, scheme, hops)
  if type(reqt.url) ~= "string" then return nil, "invalid url" end
  local parsed = url.parse(reqt.url)
  if not parsed or not parsed.host then return nil, "invalid url '" .. reqt.url .. "'" end
  local target = reqt.url
  if not parsed.scheme then target = scheme .. "://" .. reqt.url end
  local method = upper(reqt.method or "GET")
  local headers = { ["user-agent"] = _M.USERAGENT, connection = "close" }
  for k, v in pairs(reqt.headers or {}) do headers[lower(k)] = v end
  local body
  if reqt.source then
    local err
    body, err = ltn12.drain(reqt.source)
    if not body then return nil, err end
  end
  local httpc = resty_http.new()
  local timeout = (reqt.timeout or _M.TIMEOUT) * 1000
  httpc:set_timeouts(timeout, timeout, timeout)
  local res, err = httpc:request_uri(target, {
    method = method, headers = headers, body = body,
    ssl_verify = reqt.verify ~= "none" and reqt.verify ~= nil,
  })
  if not res then return nil, err end
  local location = res.headers["Location"]
  if reqt.redirect ~= false and (method == "GET" or method == "HEAD") and REDIRECTS[res.status]
    and type(location) == "string" then
    if hops >= 5 then return nil, "redirect loop" end
    local next_reqt = {}
    for k, v in pairs(reqt) do next_reqt[k] = v end
    next_reqt.url = url.absolute(target, location)
    return generic(next_reqt, scheme, hops + 1)
  end
  local sink = reqt.sink or ltn12.sink.null()
  local data = res.body or ""
  if data ~= "" then
    local ok, serr = sink(data)
    if not ok then return nil, serr end
  end
  sink(nil)
  local status = "HTTP/1.1 " .. res.status .. (res.reason and (" " .. res.reason) or "")
  return 1, res.status, lower_headers(res.headers), status
end

--- Make a request with the given scheme's defaults (socket.http: http, ssl.https: https).
function _M.request_with(scheme, reqt, body)
  if type(reqt) == "table" then
    return generic(reqt, scheme, 0)
  end
  if type(reqt) ~= "string" then
    error("bad argument #1 to 'request' (string or table expected)", 3)
  end
  local chunks = {}
  local t = { url = reqt, sink = ltn12.sink.table(chunks) }
  if body ~= nil then
    body = tostring(body)
    t.method = "POST"
    t.source = ltn12.source.string(body)
    t.headers = { ["content-type"] = "application/x-www-form-urlencoded",
                  ["content-length"] = tostring(#body) }
  end
  local ok, code, headers, status = generic(t, scheme, 0)
  if not ok then return nil, code end
  return concat(chunks), code, headers, status
end

function _M.request(reqt, body)
  return _M.request_with("http", reqt, body)
end

return _M

-- cors (PRIORITY 2000): Cross-Origin Resource Sharing headers, as Kong 3.x sends them.
--
-- Preflight (OPTIONS with Origin and Access-Control-Request-Method): answered 200
-- by the plugin with Access-Control-Allow-Origin, -Credentials, -Headers (the
-- configured list, else the request's Access-Control-Request-Headers), -Methods,
-- -Max-Age and -Allow-Private-Network (when asked for and enabled); with
-- `preflight_continue` the request goes to the upstream and gets no CORS headers.
-- Other requests: the upstream's response gets Access-Control-Allow-Origin,
-- -Credentials and -Expose-Headers in header_filter.
--
-- Origins: none or `*` allow any origin (`*`; with `credentials` the request's origin
-- is echoed instead, since browsers refuse `*` with credentials).  Otherwise
-- `Vary: Origin` is always sent, and the request's origin (normalized: scheme, host,
-- port without the default one) is echoed when it equals a configured origin or
-- matches a configured regex (anchored at both ends; a regex without ':' is matched
-- against the host only).  A single plain origin is sent as it is.
-- Configured origins are compiled once per config (weak table); parsed request
-- origins are cached in an lrucache.
local lrucache = require "resty.lrucache"
local url = require "socket.url"
local kong_meta = require "kong.meta"

local kong = kong
local ipairs, tostring, setmetatable = ipairs, tostring, setmetatable
local find, sub = string.find, string.sub
local concat = table.concat
local re_find = ngx.re.find

local ALL_METHODS = "GET,HEAD,PUT,PATCH,POST,DELETE,OPTIONS,TRACE,CONNECT"

local CorsHandler = {
  PRIORITY = 2000,
  VERSION = kong_meta.version,
}

local compiled = setmetatable({}, { __mode = "k" })   -- conf -> origin matchers
local parsed_origins = lrucache.new(10000)

local function provided(origin)
  return origin ~= nil and origin ~= ""
end

-- { domain = "scheme://host[:port]", host = host } of an origin
local function normalize(origin)
  local parsed = url.parse(origin)
  if not parsed or not parsed.host then
    return { domain = origin, host = origin }
  end
  local port = parsed.port
  if (parsed.scheme == "http" and port == "80") or (parsed.scheme == "https" and port == "443") then
    port = nil
  end
  local domain = (parsed.scheme and parsed.scheme .. "://" or "") .. parsed.host
                 .. (port and ":" .. port or "")
  return { domain = domain, host = parsed.host }
end

local function looks_like_regex(origin)
  return re_find(origin, "[^A-Za-z0-9.:/-]", "jo") ~= nil
end

-- how a config matches origins: { any = true } or { exact = {domain = true}, regexes = {...} }
local function matchers_of(conf)
  local m = compiled[conf]
  if m then
    return m
  end
  local origins = conf.origins
  local n = origins and #origins or 0
  m = { exact = {}, regexes = {} }
  if n == 0 or (n == 1 and origins[1] == "*") then
    m.any = true
  elseif n == 1 and not looks_like_regex(origins[1]) then
    m.single = origins[1]
  end
  for _, entry in ipairs(origins or {}) do
    if entry == "*" then
      m.star = true
    elseif looks_like_regex(entry) then
      local regex = entry
      if sub(regex, -1) ~= "$" then regex = regex .. "$" end
      if sub(regex, 1, 1) == "^" then regex = sub(regex, 2) end
      m.regexes[#m.regexes + 1] = { regex = regex, by_host = not find(entry, ":", 1, true) }
    else
      m.exact[normalize(entry).domain] = true
    end
  end
  compiled[conf] = m
  return m
end

local function add_vary(in_header_filter)
  if in_header_filter then
    kong.response.add_header("Vary", "Origin")
  else
    kong.response.set_header("Vary", "Origin")
  end
end

-- sets Access-Control-Allow-Origin; true when every origin is allowed
local function allow_origin(conf, in_header_filter, origin)
  local set_header = kong.response.set_header
  local m = matchers_of(conf)
  if m.any then
    set_header("Access-Control-Allow-Origin", "*")
    return true
  end
  add_vary(in_header_filter)
  if m.single then
    set_header("Access-Control-Allow-Origin", m.single)
    return false
  end
  if provided(origin) then
    if m.star then
      set_header("Access-Control-Allow-Origin", "*")
      return true
    end
    local req = parsed_origins:get(origin)
    if req == nil then
      req = normalize(origin)
      parsed_origins:set(origin, req)
    end
    local found = m.exact[req.domain]
    if not found then
      for _, r in ipairs(m.regexes) do
        if re_find(r.by_host and req.host or req.domain, r.regex, "ajo") then
          found = true
          break
        end
      end
    end
    if found then
      set_header("Access-Control-Allow-Origin", req.domain)
      return false
    end
  end
  kong.response.clear_header("Access-Control-Allow-Origin")
  return false
end

local function allow_credentials(conf, allow_all, in_header_filter, origin)
  if not conf.credentials then
    return
  end
  local set_header = kong.response.set_header
  if not allow_all then
    set_header("Access-Control-Allow-Credentials", "true")
  elseif provided(origin) then
    -- `*` is not valid with credentials: echo the origin instead
    add_vary(in_header_filter)
    set_header("Access-Control-Allow-Origin", origin)
    set_header("Access-Control-Allow-Credentials", "true")
  end
end

function CorsHandler:access(conf)
  local origin = kong.request.get_header("Origin")
  if not provided(origin) or kong.request.get_method() ~= "OPTIONS"
     or not kong.request.get_header("Access-Control-Request-Method") then
    return
  end
  -- a preflight: its answer (ours or the upstream's) gets no headers in header_filter
  kong.ctx.plugin.skip_response_headers = true
  if conf.preflight_continue then
    return
  end

  local allow_all = allow_origin(conf, false, origin)
  allow_credentials(conf, allow_all, false, origin)

  local set_header = kong.response.set_header
  if conf.headers and #conf.headers > 0 then
    set_header("Access-Control-Allow-Headers", concat(conf.headers, ","))
  else
    local requested = kong.request.get_header("Access-Control-Request-Headers")
    if requested then
      set_header("Access-Control-Allow-Headers", requested)
    else
      kong.response.clear_header("Access-Control-Allow-Headers")
    end
  end
  set_header("Access-Control-Allow-Methods", conf.methods and concat(conf.methods, ",") or ALL_METHODS)
  if conf.max_age then
    set_header("Access-Control-Max-Age", tostring(conf.max_age))
  end
  if conf.private_network
     and kong.request.get_header("Access-Control-Request-Private-Network") == "true" then
    set_header("Access-Control-Allow-Private-Network", "true")
  end
  return kong.response.exit(200)
end

function CorsHandler:header_filter(conf)
  if kong.ctx.plugin.skip_response_headers then
    return
  end
  local origin = kong.request.get_header("Origin")
  if not provided(origin) and not conf.allow_origin_absent then
    return
  end
  local allow_all = allow_origin(conf, true, origin)
  allow_credentials(conf, allow_all, true, origin)
  if conf.exposed_headers and #conf.exposed_headers > 0 then
    kong.response.set_header("Access-Control-Expose-Headers", concat(conf.exposed_headers, ","))
  end
end

return CorsHandler

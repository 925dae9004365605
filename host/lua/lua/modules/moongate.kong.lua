-- The `kong` global for Lua plugins, built from the one PDK implementation (pdk/).
-- `H.bridge.pdk` holds every PDK function wrapped for Lua (host/lua/bridge.py); this
-- module adds Kong's Lua conventions on top: the raise/exit markers become error()
-- and the end of the handler, header tables look up names case-insensitively, and
-- kong.log / kong.ctx / kong.table behave as Kong's Lua objects do.
local _, H = ...
local B = H.bridge
local P = B.pdk
local wrap = H.wrap
local type, tostring, select, pairs, rawget, setmetatable, error = type, tostring, select, pairs, rawget, setmetatable, error
local lower, gsub, concat = string.lower, string.gsub, table.concat

local kong = {}

-- case-insensitive header tables (`_` may stand for `-`), as Kong's get_headers returns
local HEADERS_MT = {
  __index = function(t, k)
    if type(k) == "string" then
      local n = gsub(lower(k), "_", "-")
      if n ~= k then return rawget(t, n) end
    end
  end,
}
H.HEADERS_MT = HEADERS_MT

local function namespace(name, overrides)
  local ns = {}
  for fname, pyfn in pairs(P[name]) do
    ns[fname] = wrap(pyfn)
  end
  for fname, fn in pairs(overrides or {}) do
    ns[fname] = fn
  end
  return ns
end

-- a header table from the flat `name, value, ...` results of the bridge's get_headers
-- (host/lua/bridge.py FlatPairs): one crossing, the table is built here
local function from_pairs(first, ...)
  if first == nil then
    if select("#", ...) == 0 then return setmetatable({}, HEADERS_MT) end -- no header
    return nil, ... -- nil, err
  end
  local flat, t = { first, ... }, {}
  for i = 1, #flat, 2 do
    local k, v = flat[i], flat[i + 1]
    local prev = t[k]
    if prev == nil then
      t[k] = v
    elseif type(prev) == "table" then
      prev[#prev + 1] = v
    else
      t[k] = { prev, v }
    end
  end
  return setmetatable(t, HEADERS_MT)
end

local function headers_getter(pyfn)
  local f = wrap(pyfn)
  return function(...) return from_pairs(f(...)) end
end

---------------------------------------------------------------------------------
-- kong.table: pure Lua, no crossing
---------------------------------------------------------------------------------
local ok_new, table_new = pcall(H.require, "table.new")
local ok_clear, table_clear = pcall(H.require, "table.clear")
kong.table = {
  new = ok_new and table_new or function() return {} end,
  clear = ok_clear and table_clear or function(t) for k in pairs(t) do t[k] = nil end end,
  merge = function(t1, t2)
    local res = {}
    if t1 then for k, v in pairs(t1) do res[k] = v end end
    if t2 then for k, v in pairs(t2) do res[k] = v end end
    return res
  end,
}

---------------------------------------------------------------------------------
-- the namespaces served by the Python PDK
---------------------------------------------------------------------------------
kong.node = namespace("node")
kong.ip = namespace("ip")
kong.client = namespace("client")
do
  -- authenticate: entity tables from kong.db / load_consumer cross as references
  -- (host/lua/entity_refs.py); get_consumer / get_credential answer with the tables
  -- authenticated with, as Kong does, while no one authenticated again since
  local client, RAISE = kong.client, H.RAISE
  local by_refs, by_tables, auth_serial = B.authenticate_refs, B.authenticate_tables, B.auth_serial
  local get_consumer, get_credential, load_consumer = client.get_consumer, client.get_credential, client.load_consumer
  local function authenticated(R, consumer, credential, a, b)
    if a == RAISE then error(b, 2) end -- (a tail call: level 2 is the plugin)
    if R ~= nil then R.auth_serial, R.auth_consumer, R.auth_credential = a, consumer, credential end
  end
  client.authenticate = function(consumer, credential)
    local R = H.current()
    local cref = type(consumer) == "table" and H.entity_ref(consumer)
    local kref = type(credential) == "table" and H.entity_ref(credential)
    if (consumer == nil or cref) and (credential == nil or kref) and (cref or kref) then
      local a, b = by_refs(cref or nil, kref or nil)
      if a ~= false then return authenticated(R, consumer, credential, a, b) end
    end
    return authenticated(R, consumer, credential, by_tables(consumer, credential))
  end
  local function mine(R)
    return R ~= nil and R.auth_serial ~= nil and R.auth_serial == auth_serial()
  end
  client.get_consumer = function()
    local R = H.current()
    if mine(R) then return R.auth_consumer end
    return get_consumer()
  end
  client.get_credential = function()
    local R = H.current()
    if mine(R) then return R.auth_credential end
    return get_credential()
  end
  client.load_consumer = function(...)
    local consumer, err = load_consumer(...)
    if type(consumer) == "table" then H.tag_entity(consumer, "consumers") end
    return consumer, err
  end
end
kong.client.tls = namespace("client.tls")
kong.service = namespace("service")
kong.request = namespace("request", {
  get_headers = headers_getter(P.request.get_headers),
})
kong.service.request = namespace("service.request")
kong.service.response = namespace("service.response", {
  get_headers = headers_getter(P["service.response"].get_headers),
})
kong.response = namespace("response", {
  get_headers = headers_getter(P.response.get_headers),
})

-- header values given as numbers become text here, as Kong's tostring does, so that
-- the crossing takes the bridge's fast path (two strings)
local function number_as_text(f)
  return function(name, value, ...)
    if type(value) == "number" then value = tostring(value) end
    return f(name, value, ...)
  end
end
for _, ns in ipairs({ kong.response, kong.service.request }) do
  ns.set_header = number_as_text(ns.set_header)
  ns.add_header = number_as_text(ns.add_header)
end
kong.router = namespace("router")
kong.nginx = namespace("nginx")
kong.plugin = namespace("plugin")

---------------------------------------------------------------------------------
-- kong.log: a callable table; arguments are turned into text Lua's way
---------------------------------------------------------------------------------
local function texts(...)
  local n = select("#", ...)
  if n == 1 then
    local v = ...
    if type(v) == "string" then return v end
    return tostring(v)
  end
  local parts = {}
  for i = 1, n do
    local v = select(i, ...)
    parts[i] = type(v) == "string" and v or tostring(v)
  end
  return concat(parts)
end

local log = {}
for _, level in ipairs({ "debug", "info", "notice", "warn", "err", "crit", "alert", "emerg", "trace", "deprecation" }) do
  local pyfn = wrap(P.log[level])
  log[level] = function(...) return pyfn(texts(...)) end
end
do
  local inspect_fn = wrap(P.log.inspect)
  log.inspect = setmetatable({
    on = function() end,
    off = function() end,
  }, { __call = function(_, ...) return inspect_fn(...) end })
end
log.set_serialize_value = wrap(P.log.set_serialize_value)
do -- Kong's serialize(options) takes stand-ins for ngx and kong (statsd passes them):
  -- they are the request's own here, so the table never crosses
  local serialize = wrap(P.log.serialize)
  log.serialize = function() return serialize() end
end
log.set_format = function() end
setmetatable(log, { __call = function(_, ...) return log.notice(...) end })
kong.log = log

---------------------------------------------------------------------------------
-- kong.ctx: `shared` is the request's shared table (the same one Python plugins
-- see), `plugin` is private to the running plugin; both nil outside requests
---------------------------------------------------------------------------------
local shared_get, shared_set = B.shared_get, B.shared_set
local SHARED_MT = {
  __index = function(_, k) return shared_get(k) end,
  __newindex = function(_, k, v) shared_set(k, v) end,
}
kong.ctx = setmetatable({}, {
  __index = function(_, k)
    local R = H.current()
    if R == nil then return nil end
    if k == "shared" then
      local s = R.shared
      if s == nil then
        s = setmetatable({}, SHARED_MT)
        R.shared = s
      end
      return s
    elseif k == "plugin" then
      local name = H.current_plugin() or ""
      local t = R.plugin[name]
      if t == nil then
        t = {}
        R.plugin[name] = t
      end
      return t
    elseif k == "core" then
      return R.ngx_ctx
    end
  end,
  __newindex = function() error("kong.ctx is read-only", 2) end,
})

---------------------------------------------------------------------------------
-- kong.configuration: read-only view of the settings
---------------------------------------------------------------------------------
local configuration_get = B.configuration_get
local configuration_remove_sensitive = B.configuration_remove_sensitive
local conf_cache = {}
kong.configuration = setmetatable({
  -- a copy of the settings with "******" for each sensitive one that has a value
  remove_sensitive = function() return configuration_remove_sensitive() end,
}, {
  __index = function(_, k)
    local v = conf_cache[k]
    if v == nil then
      v = configuration_get(k)
      if v ~= nil then conf_cache[k] = v end
    end
    return v
  end,
  __newindex = function() error("cannot write to configuration", 2) end,
})

kong.version = P.version
kong.version_num = P.version_num
kong.default_workspace = "00000000-0000-0000-0000-000000000000"

-- core singletons: the DB-less DAOs, the entity cache, in-process events
kong.db = H.require("moongate.db")
kong.cache = H.require("moongate.cache")
kong.core_cache = kong.cache
do
  local events = H.require("moongate.events")
  kong.worker_events = events.worker_events
  kong.cluster_events = events.cluster_events
end

return kong

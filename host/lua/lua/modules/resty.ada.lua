-- resty.ada (lua-resty-ada): WHATWG URLs, as Kong's redirect plugin uses them.
--   url, err = ada.parse("https://user:pass@host:1234/path?search#hash")   (nil, "invalid url")
--   url, err = ada.parse_with_base("/path", "https://host")   ada.can_parse(s), can_parse_with_base
--   url:get_href() get_protocol() get_scheme_type() get_origin() get_username() get_password()
--      get_host() get_hostname() get_host_type() get_port() get_pathname() get_search() get_hash()
--      decode()   has_credentials() has_non_empty_username() has_password()
--      has_non_empty_password() has_hostname() has_empty_hostname() has_port() has_search()
--      has_hash()
--   url:set_href(s) set_protocol(s) set_username(s) set_password(s) set_host(s) set_hostname(s)
--      set_port(n|s) set_pathname(s) -> url | nil, "unable to set <part>";
--      set_search(s) set_hash(s) clear_port() clear_search() clear_hash() -> url
--   tostring(url) is the href; url:free() does nothing.  Each method also exists as a
--   function of the module taking the URL string first (ada.get_hostname(s)); the setters
--   return the new href.
-- The search-parameter API (search_parse, search_get, ...) and idna_to_* are not provided.
-- A URL object holds the components of its href (a table from Python); the parsing and
-- the setters are Python (host/lua/modules/resty_ada.py): parse is one crossing (the
-- components of a URL already seen are reused), each setter one; the getters are Lua.
local B = ...

local type, assert, tostring, setmetatable, rawset, pairs, ipairs =
  type, assert, tostring, setmetatable, rawset, pairs, ipairs
local format, char, sub, find, gsub, lower = string.format, string.char, string.sub, string.find,
  string.gsub, string.lower
local concat = table.concat
local py_parse, py_set = B.parse, B.set

local URLS = setmetatable({}, { __mode = "k" })

local _M = { _VERSION = "1.1.0" }

local new_url   -- forward

-- component getters: method name -> field of the components table
local GETTERS = {
  get_href = "href", get_protocol = "protocol", get_scheme_type = "scheme_type",
  get_origin = "origin", get_username = "username", get_password = "password",
  get_host = "host", get_hostname = "hostname", get_host_type = "host_type",
  get_port = "port", get_pathname = "pathname", get_search = "search", get_hash = "hash",
}
-- setters that can fail, and those that always succeed (both need a string)
local FALLIBLE = { set_protocol = "protocol", set_username = "username", set_password = "password",
                   set_host = "host", set_hostname = "hostname" }

-- the methods of a URL object, made on first use from its state `st` ({ comps })
local MAKERS = {}

for name, field in pairs(GETTERS) do
  MAKERS[name] = function(st) return function() return st.comps[field] end end
end

local function set(st, url, part, value)
  local comps, err = py_set(st.comps.href, part, value)
  if not comps then return nil, err end
  st.comps = comps
  return url
end

-- pathname, search and hash are set in Lua (the URL Standard's rules for them) --------

local HEX = {}
for b = 0, 255 do HEX[char(b)] = format("%%%02X", b) end

-- the percent-encode sets, as Lua patterns over bytes (UTF-8 bytes >= 0x80 included)
local FRAGMENT_SET = "[%z\1-\32\"<>`\127-\255]"
local QUERY_SET = "[%z\1-\32\"#<>\127-\255]"
local SPECIAL_QUERY_SET = "[%z\1-\32\"#<>'\127-\255]"
local PATH_SET = "[%z\1-\32\"#<>?`{}^\127-\255]"

local SINGLE_DOT = { ["."] = true, ["%2e"] = true }
local DOUBLE_DOT = { [".."] = true, [".%2e"] = true, ["%2e."] = true, ["%2e%2e"] = true }

local function normalize_path(path, special)
  if special then path = gsub(path, "\\", "/") end
  if sub(path, 1, 1) ~= "/" then path = "/" .. path end
  local out, n = {}, 0
  local pos, len = 2, #path
  while true do
    local stop = find(path, "/", pos, true)
    local seg = sub(path, pos, (stop or len + 1) - 1)
    local last = stop == nil
    local low = lower(seg)
    if DOUBLE_DOT[low] then
      if n > 0 then out[n] = nil; n = n - 1 end
      if last then n = n + 1; out[n] = "" end
    elseif SINGLE_DOT[low] then
      if last then n = n + 1; out[n] = "" end
    else
      n = n + 1
      out[n] = (gsub(seg, PATH_SET, HEX))
    end
    if last then break end
    pos = stop + 1
  end
  return "/" .. concat(out, "/", 1, n)
end

-- new components with `field` replaced, and the href rebuilt
local function with(c, field, value)
  local new = {}
  for k, v in pairs(c) do new[k] = v end
  new[field] = value
  local path = new.pathname
  local prefix = new.prefix
  if not new.has_hostname and sub(path, 1, 2) == "//" then prefix = prefix .. "/." end
  if field == "search" then new.has_search = value ~= "" end
  if field == "hash" then new.has_hash = value ~= "" end
  -- an empty query or fragment that is present still shows its "?" / "#"
  local search = (new.search == "" and new.has_search) and "?" or new.search
  local hash = (new.hash == "" and new.has_hash) and "#" or new.hash
  new.href = prefix .. path .. search .. hash
  return new
end

local function strip(value, mark)
  if sub(value, 1, 1) == mark then return sub(value, 2) end
  return value
end

function MAKERS.set_pathname(st, url)
  return function(_, value)
    assert(type(value) == "string", "invalid pathname")
    local c = st.comps
    if c.opaque then return nil, "unable to set pathname" end
    st.comps = with(c, "pathname", normalize_path(value, c.special))
    return url
  end
end

function MAKERS.set_search(st, url)
  return function(_, value)
    assert(type(value) == "string", "invalid query")
    local c = st.comps
    value = strip(value, "?")
    local search = value == "" and "" or "?" .. gsub(value, c.special and SPECIAL_QUERY_SET or QUERY_SET, HEX)
    st.comps = with(c, "search", search)
    return url
  end
end

function MAKERS.set_hash(st, url)
  return function(_, value)
    assert(type(value) == "string", "invalid hash")
    value = strip(value, "#")
    st.comps = with(st.comps, "hash", value == "" and "" or "#" .. gsub(value, FRAGMENT_SET, HEX))
    return url
  end
end

function MAKERS.clear_search(st, url)
  return function() st.comps = with(st.comps, "search", "") return url end
end

function MAKERS.clear_hash(st, url)
  return function() st.comps = with(st.comps, "hash", "") return url end
end

for name, part in pairs(FALLIBLE) do
  MAKERS[name] = function(st, url)
    return function(_, value)
      assert(type(value) == "string", "invalid " .. part)
      return set(st, url, part, value)
    end
  end
end
function MAKERS.clear_port(st, url)
  return function() set(st, url, "port", nil) return url end
end

function MAKERS.set_port(st, url)
  return function(_, port)
    if type(port) == "number" then
      assert(port >= 0 and port % 1 == 0, "invalid port")
      port = format("%d", port)
    else
      assert(type(port) == "string", "invalid port")
    end
    return set(st, url, "port", port)
  end
end

function MAKERS.set_href(st, url)
  return function(_, value)
    assert(type(value) == "string", "invalid href")
    local comps = py_parse(value)
    if not comps then return nil, "unable to set href" end
    st.comps = comps
    return url
  end
end

function MAKERS.decode(st)
  return function()
    local c = st.comps
    return {
      scheme_type = c.scheme_type, protocol = c.protocol, username = c.username,
      password = c.password, origin = c.origin, host_type = c.host_type, host = c.host,
      hostname = c.hostname, port = c.port, pathname = c.pathname, search = c.search, hash = c.hash,
    }
  end
end

local HAS = {
  has_credentials = function(c) return c.username ~= "" or c.password ~= "" end,
  has_non_empty_username = function(c) return c.username ~= "" end,
  has_password = function(c) return c.password ~= "" end,
  has_non_empty_password = function(c) return c.password ~= "" end,
  has_hostname = function(c) return c.has_hostname end,
  has_empty_hostname = function(c) return c.has_hostname and c.hostname == "" end,
  has_port = function(c) return c.port ~= "" end,
  has_search = function(c) return c.has_search end,
  has_hash = function(c) return c.has_hash end,
}
for name, test in pairs(HAS) do
  MAKERS[name] = function(st) return function() return test(st.comps) end end
end

function MAKERS.free() return function() end end

-- A URL object: a table whose methods are closures over its own state, made when
-- first used (its metatable is its own, so nothing is shared between objects).
function new_url(comps)
  local st = { comps = comps }
  local url = {}
  URLS[url] = true
  return setmetatable(url, {
    __index = function(t, name)
      local make = MAKERS[name]
      if not make then return nil end
      local method = make(st, t)
      rawset(t, name, method)
      return method
    end,
    __tostring = function() return st.comps.href end,
  })
end

function _M.parse(s)
  assert(type(s) == "string", "invalid url")
  local comps, err = py_parse(s)
  if not comps then return nil, err end
  return new_url(comps)
end

function _M.parse_with_base(s, base)
  assert(type(s) == "string", "invalid url")
  assert(type(base) == "string", "invalid base")
  local comps, err = py_parse(s, base)
  if not comps then return nil, err end
  return new_url(comps)
end

function _M.can_parse(s)
  assert(type(s) == "string", "invalid url")
  return py_parse(s) ~= nil
end

function _M.can_parse_with_base(s, base)
  assert(type(s) == "string", "invalid url")
  assert(type(base) == "string", "invalid base")
  return py_parse(s, base) ~= nil
end

function _M.istype(u)
  return type(u) == "table" and URLS[u] == true
end

-- the static API: ada.<method>(url_string, ...)
local function static(name, returns_href)
  return function(s, ...)
    local url, err = _M.parse(s)
    if not url then return nil, err end
    local res, err2 = url[name](url, ...)
    if returns_href then
      if not res then return nil, err2 end
      return tostring(res)
    end
    return res, err2
  end
end
for name in pairs(GETTERS) do _M[name] = static(name, false) end
for _, name in ipairs({ "decode", "has_credentials", "has_non_empty_username", "has_password",
                        "has_non_empty_password", "has_hostname", "has_empty_hostname",
                        "has_port", "has_search", "has_hash" }) do
  _M[name] = static(name, false)
end
for _, name in ipairs({ "set_protocol", "set_username", "set_password", "set_host", "set_hostname",
                        "set_port", "set_pathname", "set_search", "set_hash", "clear_port",
                        "clear_search", "clear_hash" }) do
  _M[name] = static(name, true)
end

return _M

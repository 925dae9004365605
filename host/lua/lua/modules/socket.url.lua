-- socket.url (LuaSocket 3.1's URL module): escape, unescape, parse, build, absolute,
-- parse_path, build_path.  Pure Lua; the results follow LuaSocket's, including its
-- RFC 2396 component names (scheme, authority, userinfo, user, password, host, port,
-- path, params, query, fragment) and its dot-segment rules: `..` removes the segment
-- before it (an empty segment from `//` counts as one), and `absolute` cleans the
-- whole resolved URL, query and fragment included, as LuaSocket does.
local type, pairs, tostring, tonumber = type, pairs, tostring, tonumber
local format, byte, char, sub, find, match, gsub =
  string.format, string.byte, string.char, string.sub, string.find, string.match, string.gsub
local concat = table.concat

local _M = { _VERSION = "URL 1.0.3" }

local function lower_hex(c) return format("%%%02x", byte(c)) end

--- Every byte but letters, digits and `_` as %xx (lowercase hex).
function _M.escape(s)
  return (gsub(s, "[^%w_]", lower_hex))
end

local function from_hex(h) return char(tonumber(h, 16)) end

--- %xx sequences back to bytes (others are left as they are).
function _M.unescape(s)
  return (gsub(s, "%%(%x%x)", from_hex))
end

-- bytes a path segment may hold unescaped (besides letters, digits and `_`)
local SEGMENT_SAFE = {}
for c in ("-_.!~*'():@&=+$,"):gmatch(".") do SEGMENT_SAFE[c] = c end

local function protect_char(c)
  return SEGMENT_SAFE[c] or format("%%%02X", byte(c))
end

local function protect_segment(s)
  return (gsub(s, "[^%w_]", protect_char))
end

-- Remove `.` and `..` segments from a path (or a whole URL).  Segments are the
-- pieces between slashes; an empty one between two slashes is a segment too, so
-- `a//..` gives `a/`.  `..` removes the segment before it unless it is the root.
local function remove_dots(path)
  local absolute = sub(path, 1, 1) == "/"
  local parts, n = {}, 0
  local pos = absolute and 2 or 1
  local len = #path
  local directory = false
  local lone_dot = false
  local first = true
  while pos <= len + 1 do
    local stop = find(path, "/", pos, true)
    local seg = sub(path, pos, (stop or len + 1) - 1)
    local last = stop == nil
    directory = false
    if last and seg == "" then
      directory = n > 0 or absolute
    elseif seg == "." and (not first or absolute) then
      -- a last "." only marks a directory when something is left before it
      if last then directory = n > 0 or absolute; lone_dot = not directory end
    elseif seg == ".." then
      if n > 0 then
        n = n - 1
        parts[n + 1] = nil
        if last then directory = true end
      else
        -- nothing to remove: kept (a later ".." removes it, as in LuaSocket)
        n = 1
        parts[1] = ".."
      end
    else
      n = n + 1
      parts[n] = seg
    end
    first = false
    if last then break end
    pos = stop + 1
  end
  if absolute and parts[1] == ".." then
    -- "/.." at the root is the root
    for i = 1, n - 1 do parts[i] = parts[i + 1] end
    parts[n] = nil
    n = n - 1
    if n == 0 then directory = true end
  end
  if lone_dot then return "." end
  local out = concat(parts, "/", 1, n)
  if absolute then out = "/" .. out end
  if directory and n > 0 then out = out .. "/" end
  return out
end
_M._remove_dots = remove_dots

-- Resolve a relative path against the path of a base URL.
local function absolute_path(base_path, relative_path)
  if sub(relative_path, 1, 1) == "/" then return remove_dots(relative_path) end
  local dir = match(base_path, "^(.*/)") or ""
  if dir == "" then dir = "/" end
  return remove_dots(dir .. relative_path)
end

--- Split a URL into its parts; `default` gives values for the parts it lacks.
-- Returns the table, or nil and "invalid url" for an empty URL.
function _M.parse(url, default)
  local parsed = {}
  if default then
    for k, v in pairs(default) do parsed[k] = v end
  end
  if not url or url == "" then return nil, "invalid url" end
  local rest = url
  local scheme, after = match(rest, "^(%w[%w%+%-%.]*):()")
  if scheme then
    parsed.scheme = scheme
    rest = sub(rest, after)
  end
  local authority, after_auth = match(rest, "^//([^/%?#]*)()")
  if authority then
    parsed.authority = authority
    rest = sub(rest, after_auth)
  end
  local hash = find(rest, "#", 1, true)
  if hash then
    parsed.fragment = sub(rest, hash + 1)
    rest = sub(rest, 1, hash - 1)
  end
  local question = find(rest, "?", 1, true)
  if question then
    parsed.query = sub(rest, question + 1)
    rest = sub(rest, 1, question - 1)
  end
  local semicolon = find(rest, ";", 1, true)
  if semicolon then
    parsed.params = sub(rest, semicolon + 1)
    rest = sub(rest, 1, semicolon - 1)
  end
  if rest ~= "" then parsed.path = rest end
  if not authority then return parsed end

  local at = find(authority, "@", 1, true)
  if at then
    parsed.userinfo = sub(authority, 1, at - 1)
    authority = sub(authority, at + 1)
  end
  local host, port = match(authority, "^(.*):([^:%]]*)$")
  if host then
    parsed.port = port
    authority = host
  end
  if authority ~= "" then
    parsed.host = match(authority, "^%[(.+)%]$") or authority
  end
  local userinfo = parsed.userinfo
  if not userinfo then return parsed end
  local user, password = match(userinfo, "^(.*):([^:]*)$")
  if user then
    parsed.password = password
    userinfo = user
  end
  parsed.user = userinfo
  return parsed
end

--- Put a parsed URL back together (host, port, user and password take precedence
-- over authority and userinfo).
function _M.build(parsed)
  local parts, n = {}, 0
  local function add(s) n = n + 1; parts[n] = s end
  if parsed.scheme then add(parsed.scheme); add(":") end
  local authority = parsed.authority
  if parsed.host then
    local host = parsed.host
    if find(host, ":", 1, true) then host = "[" .. host .. "]" end
    if parsed.port then host = host .. ":" .. tostring(parsed.port) end
    local userinfo = parsed.userinfo
    if parsed.user then
      userinfo = parsed.user
      if parsed.password then userinfo = userinfo .. ":" .. parsed.password end
    end
    authority = userinfo and (userinfo .. "@" .. host) or host
  end
  if authority then add("//"); add(authority) end
  add(parsed.path or "")
  if parsed.params then add(";"); add(parsed.params) end
  if parsed.query then add("?"); add(parsed.query) end
  if parsed.fragment then add("#"); add(parsed.fragment) end
  return concat(parts, "", 1, n)
end

--- Resolve `relative_url` against `base_url` (a string or a parsed table).
function _M.absolute(base_url, relative_url)
  local base
  if type(base_url) == "table" then
    base = base_url
    base_url = _M.build(base)
  else
    base = _M.parse(base_url)
  end
  local rel = _M.parse(relative_url)
  local result
  if not base then
    result = relative_url
  elseif not rel then
    result = base_url
  elseif rel.scheme then
    result = relative_url
  else
    rel.scheme = base.scheme
    if not rel.authority then
      rel.authority = base.authority
      if rel.path then
        rel.path = absolute_path(base.path or "", rel.path)
      else
        rel.path = base.path
        if not rel.params then
          rel.params = base.params
          if not rel.query then rel.query = base.query end
        end
      end
    end
    result = _M.build(rel)
  end
  return remove_dots(result)
end

--- The segments of a path, unescaped; `is_absolute` / `is_directory` are set to 1
-- for a leading / trailing slash.
function _M.parse_path(path)
  path = path or ""
  local parsed, n = {}, 0
  for seg in path:gmatch("[^/]+") do
    n = n + 1
    parsed[n] = _M.unescape(seg)
  end
  if sub(path, 1, 1) == "/" then parsed.is_absolute = 1 end
  if sub(path, -1) == "/" then parsed.is_directory = 1 end
  return parsed
end

--- A path from segments; each is escaped unless `unsafe` is true.
function _M.build_path(parsed, unsafe)
  local n = #parsed
  local segs = {}
  for i = 1, n do
    segs[i] = unsafe and parsed[i] or protect_segment(parsed[i])
  end
  local path = concat(segs, "/", 1, n)
  if n > 0 and parsed.is_directory then path = path .. "/" end
  if parsed.is_absolute then path = "/" .. path end
  return path
end

return _M

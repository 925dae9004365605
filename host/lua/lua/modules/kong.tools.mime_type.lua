-- `kong.tools.mime_type`: RFC 2045 media types (kong/tools/mime_type.lua).
--   parse_mime_type("application/json; Charset=utf-8") --> "application", "json", {charset = "utf-8"}
--   includes({type = "application", subtype = "json"}, {type = "application", subtype = "problem+json"}) --> true
-- A hand-written parser of Kong's LPeg grammar: type "/" subtype, then
-- parameters `; attribute=value` (token or quoted string); types and attribute
-- names are lowercased; anything else (e.g. a trailing ";" or space) is invalid.
local type, error, byte, sub, lower, find, match = type, error, string.byte, string.sub, string.lower, string.find, string.match

-- token characters: ASCII 33-126 except the separators ()<>@,;:\"/[]?={}
local TOKEN = {}
for b = 33, 126 do TOKEN[b] = true end
for c in ("()<>@,;:\\\"/[]?={}"):gmatch(".") do TOKEN[byte(c)] = nil end

-- end of the token starting at i (i - 1 when there is none)
local function token(s, i)
  while TOKEN[byte(s, i)] do i = i + 1 end
  return i - 1
end

local function skip_spaces(s, i)
  while true do
    local b = byte(s, i)
    if b ~= 32 and b ~= 9 then return i end
    i = i + 1
  end
end

-- a quoted string at i (i is on the opening quote): content, position after it.
-- As in Kong's grammar, any byte but CTLs and '"' is text (a backslash escapes nothing)
local function quoted(s, i)
  local close = find(s, '"', i + 1, true)
  if not close then return nil end
  local text = sub(s, i + 1, close - 1)
  if find(text, "[%z\1-\31\127]") then return nil end
  return text, close + 1
end

--- type, subtype, params (lowercase keys), or nil when `mime_type` is invalid.
local function parse_mime_type(mime_type)
  if type(mime_type) ~= "string" then return nil end
  local len = #mime_type
  local t_end = token(mime_type, 1)
  local mtype, subtype, i
  if t_end >= 1 and byte(mime_type, t_end + 1) == 47 then      -- "/"
    local s_end = token(mime_type, t_end + 2)
    if s_end >= t_end + 2 then
      mtype, subtype = lower(sub(mime_type, 1, t_end)), lower(sub(mime_type, t_end + 2, s_end))
      i = s_end + 1
    end
  end
  if not mtype then
    if byte(mime_type, 1) ~= 42 then return nil end            -- a lone "*"
    mtype, subtype, i = "*", "*", 2
  elseif mtype == "*" and subtype == "*" then
    mtype, subtype = "*", "*"
  end
  local params = {}
  while i <= len do
    local j = skip_spaces(mime_type, i)
    if byte(mime_type, j) ~= 59 then return nil end            -- ";"
    j = skip_spaces(mime_type, j + 1)
    local a_end = token(mime_type, j)
    if a_end < j or byte(mime_type, a_end + 1) ~= 61 then return nil end   -- "="
    local key = lower(sub(mime_type, j, a_end))
    local value
    j = a_end + 2
    if byte(mime_type, j) == 34 then
      value, j = quoted(mime_type, j)
      if not value then return nil end
    else
      local v_end = token(mime_type, j)
      if v_end < j then return nil end
      value, j = sub(mime_type, j, v_end), v_end + 1
    end
    params[key] = value
    i = j
  end
  return mtype, subtype, params
end

--- Whether media type `this` ({type, subtype}) includes `other`: wildcards, and a
--- suffix match ("json" includes "problem+json").
local function includes(this, other)
  if type(this) ~= "table" then error("this must be a table", 2) end
  if type(other) ~= "table" then error("other must be a table", 2) end
  if this.type == "*" then return true end
  if this.type == other.type then
    if this.subtype == other.subtype or this.subtype == "*" then return true end
    if not find(this.subtype, "+", 1, true) and match(other.subtype, "+" .. this.subtype .. "$") then
      return true
    end
  end
  return false
end

return {
  parse_mime_type = parse_mime_type,
  includes = includes,
}

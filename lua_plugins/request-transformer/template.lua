-- request-transformer's template values: a substitution engine, not Lua.
--
-- A value may contain `$(expr)` parts, where expr is one or more alternatives joined by
-- ` or ` (the first one that is set wins):
--   headers.<name>            headers["<name>"]        (case-insensitive, `_` = `-`)
--   query_params.<name>       query_params["<name>"]
--   uri_captures.<name>       uri_captures["<name>"]   uri_captures[<n>]
--   shared.<key>              (kong.ctx.shared)
--   "literal" or 'literal'    (a default, usually last)
-- A multi-valued header or argument gives its values joined by ", "; an unset value
-- gives "".  Kong renders these templates with Lua in a sandbox; Moongate only looks
-- values up, so no code runs.
--
-- compile(text) -> template | nil, err;  render(template, env) -> string
local find, sub, byte, gsub = string.find, string.sub, string.byte, string.gsub
local concat = table.concat
local type, tostring, tonumber = type, tostring, tonumber

local SOURCES = { headers = true, query_params = true, uri_captures = true, shared = true }

local _M = {}

local function skip_spaces(s, i)
  local _, e = find(s, "^%s*", i)
  return e + 1
end

local function quoted(s, i)
  local q = sub(s, i, i)
  local close = find(s, q, i + 1, true)
  if not close then
    return nil, "unfinished string"
  end
  return sub(s, i + 1, close - 1), close + 1
end

-- one alternative: a literal, or a source followed by one key
local function parse_alternative(s, i)
  i = skip_spaces(s, i)
  local c = sub(s, i, i)
  if c == '"' or c == "'" then
    local text, j = quoted(s, i)
    if not text then return nil, j end
    return { literal = text }, j
  end
  local _, e, name = find(s, "^([%a_][%w_]*)", i)
  if not name then
    return nil, "expected headers, query_params, uri_captures, shared or a quoted string at '"
      .. sub(s, i) .. "'"
  end
  if not SOURCES[name] then
    return nil, "unknown value '" .. name .. "' (expected headers, query_params, uri_captures or shared)"
  end
  i = e + 1
  local key
  if sub(s, i, i) == "." then
    local _, e2, k = find(s, "^([%w_%-]+)", i + 1)
    if not k then return nil, "expected a name after '" .. name .. ".'" end
    key, i = k, e2 + 1
  elseif sub(s, i, i) == "[" then
    i = skip_spaces(s, i + 1)
    local q = sub(s, i, i)
    if q == '"' or q == "'" then
      local text, j = quoted(s, i)
      if not text then return nil, j end
      key, i = text, j
    else
      local _, e2, n = find(s, "^(%d+)", i)
      if not n then return nil, "expected a quoted name or a number in '" .. name .. "[...]'" end
      key, i = tonumber(n), e2 + 1
    end
    i = skip_spaces(s, i)
    if sub(s, i, i) ~= "]" then return nil, "expected ']'" end
    i = i + 1
  else
    return nil, "expected '." .. "' or '[' after '" .. name .. "'"
  end
  return { source = name, key = key }, i
end

local function parse_expr(s)
  local alts, i = {}, 1
  while true do
    local alt, j = parse_alternative(s, i)
    if not alt then return nil, j end
    alts[#alts + 1] = alt
    i = skip_spaces(s, j)
    if i > #s then return alts end
    local _, e = find(s, "^or%s", i)
    if not e then
      return nil, "unexpected '" .. sub(s, i) .. "'"
    end
    i = e + 1
  end
end

-- the closing parenthesis of `$(` at i (quotes may hold parentheses)
local function closing(s, i)
  local quote
  for j = i, #s do
    local c = byte(s, j)
    if quote then
      if c == quote then quote = nil end
    elseif c == 34 or c == 39 then
      quote = c
    elseif c == 41 then
      return j
    end
  end
end

function _M.compile(text)
  local parts, i = {}, 1
  while true do
    local start = find(text, "$(", i, true)
    if not start then
      if i <= #text then parts[#parts + 1] = sub(text, i) end
      break
    end
    if start > i then parts[#parts + 1] = sub(text, i, start - 1) end
    local stop = closing(text, start + 2)
    if not stop then
      return nil, "unfinished '$(' in '" .. text .. "'"
    end
    local alts, err = parse_expr(sub(text, start + 2, stop - 1))
    if not alts then
      return nil, err
    end
    parts[#parts + 1] = alts
    i = stop + 1
  end
  return parts
end

local function text_of(value)
  if type(value) == "table" then
    local out = {}
    for k = 1, #value do out[k] = tostring(value[k]) end
    return concat(out, ", ")
  end
  if value == true then return "" end
  return tostring(value)
end

local function lookup(env, alt)
  if alt.literal then return alt.literal end
  local source = env[alt.source]
  if type(source) ~= "table" then return nil end
  local key = alt.key
  if alt.source == "headers" and type(key) == "string" then
    key = gsub(key:lower(), "_", "-")
  end
  local value = source[key]
  if value == nil and alt.source == "uri_captures" and type(key) == "string" then
    value = source[tonumber(key)]
  end
  return value
end

function _M.render(template, env)
  local out = {}
  for n = 1, #template do
    local part = template[n]
    if type(part) == "string" then
      out[n] = part
    else
      local value
      for a = 1, #part do
        value = lookup(env, part[a])
        if value ~= nil and value ~= false then break end
      end
      out[n] = (value == nil or value == false) and "" or text_of(value)
    end
  end
  return concat(out)
end

-- true when the text has no template part (rendered as it is)
function _M.is_plain(text)
  return find(text, "$(", 1, true) == nil
end

return _M

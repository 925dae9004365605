-- `kong.tools.string`: Kong's string helpers (kong/tools/string.lua): splitting
-- (split, splitn, isplitn, split_once and their Lua-pattern variants), strip,
-- UTF-8 validation, byte-size formatting and parsing, base64 fallback decoding,
-- dash replacement for header names.  Pure Lua except base64 decoding.
local B, H = ...
local type, tostring, tonumber, ipairs, error, assert = type, tostring, tonumber, ipairs, error, assert
local lower, sub, fmt, find, gsub, byte = string.lower, string.sub, string.format, string.find, string.gsub, string.byte
local concat, huge = table.concat, math.huge
local new_tab = H.require("table.new")

local _M = {}

local SPACE, TAB, CR = byte(" "), byte("\t"), byte("\r")

--- `join(sep, list)`: Penlight's stringx.join.
function _M.join(sep, list)
  return concat(list, sep)
end

--- Penlight's stringx.split(s, sep?, n?): plain separator, or runs of whitespace
--- when `sep` is nil (leading whitespace ignored); a trailing separator gives a
--- trailing "" element.  Returns a plain array (not a pl.List).
function _M.split(s, sep, n)
  if type(s) ~= "string" then
    error("argument 1 expected a 'string', got a '" .. type(s) .. "'", 2)
  end
  local plain, pattern = true, sep
  if not sep then
    s = gsub(s, "^%s+", "")
    plain, pattern = false, "%s+"
  end
  local res = {}
  if pattern == "" then
    res[1] = s
  else
    local i1 = 1
    while true do
      local i2, i3 = find(s, pattern, i1, plain)
      if not i2 then
        local last = sub(s, i1)
        if last ~= "" then res[#res + 1] = last end
        if #res == 1 and res[1] == "" then res = {} end
        break
      end
      res[#res + 1] = sub(s, i1, i2 - 1)
      if n and #res == n then
        res[#res] = sub(s, i1)
        break
      end
      i1 = i3 + 1
    end
  end
  if sep and sep ~= "" and find(s, sep, -#sep, true) and (n or huge) > #res then
    res[#res + 1] = ""
  end
  return res
end

local function split_once_common(value, pattern, plain)
  if value == nil then
    return nil, nil
  elseif pattern == nil then
    return value, nil
  elseif pattern == "" then
    return "", value
  elseif value == "" then
    return "", nil
  end
  local s, e = find(value, pattern, nil, plain)
  if not s then
    return value, nil
  end
  return (sub(value, 1, s - 1)), (sub(value, e + 1))
end

--- Split at the first plain `delim`: head, tail (tail nil when absent).
function _M.split_once(value, delim)
  return split_once_common(value, delim, true)
end

--- Split at the first match of Lua pattern `pattern`.
function _M.psplit_once(value, pattern)
  return split_once_common(value, pattern, false)
end

local function splitn_common(value, pattern, n, plain)
  local limit = n or huge
  if limit < 1 or value == nil then
    return {}, 0
  elseif limit == 1 or pattern == nil then
    return { value }, 1
  elseif pattern == "" then
    if value == "" then
      return { "", "" }, 2
    end
    local size = #value
    if size == 1 then
      if limit == 2 then return { "", value }, 2 end
      return { "", value, "" }, 3
    end
    size = limit >= size + 2 and size + 2 or limit
    local t = new_tab(size, 0)
    t[1] = ""
    for i = 2, size do
      t[i] = sub(value, i - 1, i < size and i - 1 or nil)
    end
    return t, size
  elseif value == "" then
    return { "" }, 1
  end
  local t, i, p = new_tab(n or 10, 0), 1, 1
  while i < limit do
    local s, e = find(value, pattern, p, plain)
    if not s then break end
    t[i] = sub(value, p, s - 1)
    i = i + 1
    p = e + 1
  end
  t[i] = sub(value, p)
  return t, i
end

--- Split on a plain delimiter into at most `n` parts: array, count.
function _M.splitn(value, delim, n)
  return splitn_common(value, delim, n, true)
end

--- Split on a Lua pattern into at most `n` parts: array, count.
function _M.psplitn(value, pattern, n)
  return splitn_common(value, pattern, n, false)
end

local function noop_iter() end
local function once_iter(invariant, control)
  if invariant ~= control then return invariant end
end
local function split_iter(t)
  local i = t[0] or 1
  t[0] = i + 1
  return t[i]
end

local function isplit(res, count)
  if count == 0 then return noop_iter end
  if count == 1 then return once_iter, res[1] end
  return split_iter, res
end

--- Iterator over the parts of `splitn(value, delim, n)`.
function _M.isplitn(value, delim, n)
  return isplit(splitn_common(value, delim, n, true))
end

--- Iterator over the parts of `psplitn(value, pattern, n)`.
function _M.ipsplitn(value, pattern, n)
  return isplit(splitn_common(value, pattern, n, false))
end

local function is_space(b)
  return b == SPACE or (b and b >= TAB and b <= CR)
end

--- Remove leading and trailing whitespace (space, \t \n \v \f \r); nil gives "".
function _M.strip(value)
  if value == nil then return "" end
  if type(value) ~= "string" then value = tostring(value) or "" end
  if value == "" then return "" end
  local s = 1
  while is_space(byte(value, s)) do s = s + 1 end
  if s > #value then return "" end
  local e = -1
  while is_space(byte(value, e)) do e = e - 1 end
  if s ~= 1 or e ~= -1 then value = sub(value, s, e) end
  return value
end

--- true when `val` (as a string) is valid UTF-8; otherwise false, position.
function _M.validate_utf8(val)
  local str = tostring(val)
  local i, len = 1, #str
  while i <= len do
    if i == find(str, "[%z\1-\127]", i) then i = i + 1
    elseif i == find(str, "[\194-\223][\128-\191]", i) then i = i + 2
    elseif i == find(str, "\224[\160-\191][\128-\191]", i)
        or i == find(str, "[\225-\236][\128-\191][\128-\191]", i)
        or i == find(str, "\237[\128-\159][\128-\191]", i)
        or i == find(str, "[\238-\239][\128-\191][\128-\191]", i) then i = i + 3
    elseif i == find(str, "\240[\144-\191][\128-\191][\128-\191]", i)
        or i == find(str, "[\241-\243][\128-\191][\128-\191][\128-\191]", i)
        or i == find(str, "\244[\128-\143][\128-\191][\128-\191]", i) then i = i + 4
    else
      return false, i
    end
  end
  return true
end

--- A byte count as text: unit nil/"b" -> "5497558", "k"/"m"/"g" -> "5.24 MiB" (`scale` decimals).
function _M.bytes_to_str(bytes, unit, scale)
  local u = lower(unit or "")
  if u == "" or u == "b" then
    return fmt("%d", bytes)
  end
  scale = scale or 2
  if type(scale) ~= "number" or scale < 0 then
    error("scale must be equal or greater than 0", 2)
  end
  local spec = "%." .. fmt("%d", scale) .. "f"
  if u == "k" then return fmt(spec .. " KiB", bytes / 2 ^ 10) end
  if u == "m" then return fmt(spec .. " MiB", bytes / 2 ^ 20) end
  if u == "g" then return fmt(spec .. " GiB", bytes / 2 ^ 30) end
  error("invalid unit '" .. unit .. "' (expected 'k/K', 'm/M', or 'g/G')", 2)
end

local SCALES = { k = 1024, K = 1024, m = 1048576, M = 1048576, g = 1073741824, G = 1073741824 }

--- An nginx size ("10k", "2M", "512") in bytes.
function _M.parse_ngx_size(str)
  assert(type(str) == "string", "Parameter #1 must be a string")
  local len = #str
  local scale = SCALES[sub(str, len)]
  if scale then
    len = len - 1
  else
    scale = 1
  end
  return (tonumber(sub(str, 1, len)) or 0) * scale
end

local decode_base64 = B.decode_base64

local function decode_base64_str(str)
  if type(str) == "string" then
    return decode_base64(str, false) or decode_base64(str, true) or nil,
           "base64 decoding failed: invalid input"
  end
  return nil, "base64 decoding failed: not a string"
end

--- Decode a base64 (or base64url) string, or each string of an array in place;
--- values that do not decode are returned unchanged.
function _M.try_decode_base64(value)
  if type(value) == "table" then
    for i, v in ipairs(value) do
      value[i] = decode_base64_str(v) or v
    end
    return value
  end
  if type(value) == "string" then
    return decode_base64_str(value) or value
  end
  return value
end

local function replace_char(str, ch, replacement)
  if not find(str, ch, 1, true) then return str end
  return (gsub(str, ch, replacement))
end

--- "x-my-header" -> "x_my_header"
function _M.replace_dashes(str)
  return replace_char(str, "-", "_")
end

--- "X-My-Header" -> "x_my_header"
function _M.replace_dashes_lower(str)
  return replace_char(lower(str), "-", "_")
end

return _M

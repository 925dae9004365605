-- ngx string helpers: base64, md5/sha1/hmac_sha1/crc32 (one Python crossing each, see
-- host/lua/modules/moongate_ngx_string.py) and, in pure Lua, escape_uri/unescape_uri,
-- encode_args/decode_args and quote_sql_str with OpenResty's rules:
--  * escape_uri(s, type=2): type 2 keeps only ALPHA DIGIT - . _ ~ ! ' ( ) *, types 0..6
--    are nginx's escape sets (uri, args, uri_component, html, refresh, memcached, mail);
--  * unescape_uri decodes %XX and turns '+' into a space;
--  * encode_args(t): key=value pairs in table order (pairs), `true` gives the bare key,
--    `false` is left out, a list repeats the key;
--  * decode_args(s, max=100): repeated keys become lists, a key without '=' is `true`,
--    empty keys are ignored; stopping at `max` also returns "truncated".
local B, H = ...

local type, tostring, error, select, pairs = type, tostring, error, select, pairs
local byte, char, sub, find, gsub, format = string.byte, string.char, string.sub, string.find, string.gsub, string.format
local concat, tonumber = table.concat, tonumber

local ngx = {}

local function as_string(s)
  if type(s) == "string" then return s end
  if not s then return "" end
  return tostring(s)
end

---------------------------------------------------------------------------------
-- base64 and digests
---------------------------------------------------------------------------------
local py_encode_base64, py_decode_base64, py_decode_base64mime = B.encode_base64, B.decode_base64, B.decode_base64mime

function ngx.encode_base64(s, no_padding)
  s = as_string(s)
  if no_padding and no_padding ~= true then
    error("bad no_padding: boolean expected, got " .. type(no_padding), 2)
  end
  return py_encode_base64(s, no_padding == true)
end

function ngx.decode_base64(s)
  if type(s) ~= "string" then error("string argument only", 2) end
  return py_decode_base64(s)
end

function ngx.decode_base64mime(s)
  if type(s) ~= "string" then error("string argument only", 2) end
  return py_decode_base64mime(s)
end

local function digest(pyfn)
  return function(s) return pyfn(as_string(s)) end
end
ngx.md5 = digest(B.md5)
ngx.md5_bin = digest(B.md5_bin)
ngx.sha1_bin = digest(B.sha1_bin)
ngx.crc32_short = digest(B.crc32)
ngx.crc32_long = digest(B.crc32)

local py_hmac_sha1 = B.hmac_sha1
local function check_string(v, n, fname)
  local t = type(v)
  if t == "string" then return v end
  if t == "number" then return tostring(v) end
  error(format("bad argument #%d to '%s' (string expected, got %s)", n, fname, t), 3)
end

function ngx.hmac_sha1(...)
  local n = select("#", ...)
  if n ~= 2 then error("expecting 2 arguments, but got " .. n, 2) end
  local key, s = ...
  return py_hmac_sha1(check_string(key, 1, "hmac_sha1"), check_string(s, 2, "hmac_sha1"))
end

---------------------------------------------------------------------------------
-- URI escaping
---------------------------------------------------------------------------------
local HEX = {}
for b = 0, 255 do HEX[char(b)] = format("%%%02X", b) end

-- per escape type: the bytes escaped, as a compact Lua pattern class (runs become
-- ranges; the complement is used when it is shorter)
local function class_item(b)
  if b == 0 then return "%z" end
  local c = char(b)
  if find(c, "[%w\128-\255]") or b < 32 then return c end
  return "%" .. c
end
local function runs(test)
  local parts, b = {}, 0
  while b <= 255 do
    if test(b) then
      local e = b
      while e < 255 and test(e + 1) do e = e + 1 end
      local plain = function(x) return x > 0 and not find("]^-%", char(x), 1, true) end
      if e - b >= 2 and plain(b) and plain(e) then
        parts[#parts + 1] = char(b) .. "-" .. char(e)
      else
        for x = b, e do parts[#parts + 1] = class_item(x) end
      end
      b = e + 1
    else
      b = b + 1
    end
  end
  return concat(parts)
end
local function class_of(escaped)
  local positive = "[" .. runs(escaped) .. "]"
  local negative = "[^" .. runs(function(b) return not escaped(b) end) .. "]"
  return #negative < #positive and negative or positive
end
local function member(set) return function(b) return find(set, char(b), 1, true) ~= nil end end
local function ctl_high(b) return b < 0x20 or b >= 0x7F end
local ALNUM = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
local ESCAPE_CLASS = {
  [0] = class_of(function(b) return ctl_high(b) or member(" #%?")(b) end),                -- uri
  [1] = class_of(function(b) return ctl_high(b) or member(" #%+?")(b) end),               -- args
  [2] = class_of(function(b) return not member(ALNUM .. "-._~!'()*")(b) end),             -- uri component
  [3] = class_of(function(b) return ctl_high(b) or member(" #\"%'")(b) end),              -- html
  [4] = class_of(function(b) return ctl_high(b) or member(" \"'")(b) end),                -- refresh
  [5] = class_of(function(b) return b < 0x20 or member(" %")(b) end),                     -- memcached
}
ESCAPE_CLASS[6] = ESCAPE_CLASS[5]                                                          -- mail_auth
local COMPONENT = ESCAPE_CLASS[2]

function ngx.escape_uri(s, esc_type)
  s = as_string(s)
  local class = COMPONENT
  if esc_type ~= nil then
    if type(esc_type) ~= "number" then error("\"type\" is not a number", 3) end
    if esc_type < 0 or esc_type > 6 then
      error("\"type\" " .. esc_type .. " out of range", 3)
    end
    class = ESCAPE_CLASS[esc_type - esc_type % 1]
  end
  return (gsub(s, class, HEX))
end

local UNHEX = {}   -- "4a", "4A", ... -> the byte
do
  local digits = "0123456789abcdefABCDEF"
  for i = 1, #digits do
    for j = 1, #digits do
      local pair = sub(digits, i, i) .. sub(digits, j, j)
      UNHEX[pair] = char(tonumber(pair, 16))
    end
  end
end

local function unescape(s)
  if find(s, "+", 1, true) then s = gsub(s, "%+", " ") end
  if find(s, "%", 1, true) then s = gsub(s, "%%(%x%x)", UNHEX) end
  return s
end

function ngx.unescape_uri(s)
  return unescape(as_string(s))
end

---------------------------------------------------------------------------------
-- query args
---------------------------------------------------------------------------------
local function arg_value(v)
  local t = type(v)
  if t == "string" then return v end
  if t == "number" then return tostring(v) end
  error("attempt to use " .. t .. " as query arg value", 3)
end

function ngx.encode_args(...)
  local n = select("#", ...)
  if n ~= 1 then error("expecting 1 argument but seen " .. n, 2) end
  local args = ...
  if type(args) ~= "table" then
    error("bad argument #1 to 'encode_args' (table expected, got " .. type(args) .. ")", 2)
  end
  local out, k = {}, 0
  for key, value in pairs(args) do
    if type(key) ~= "string" then
      error('attempt to use a non-string key in the "args" option table', 2)
    end
    local ekey = gsub(key, COMPONENT, HEX)
    local t = type(value)
    if t == "boolean" then
      if value then k = k + 1; out[k] = ekey end
    elseif t == "table" then
      for _, v in pairs(value) do
        if v == true then
          k = k + 1; out[k] = ekey
        elseif v ~= false then
          k = k + 1; out[k] = ekey .. "=" .. gsub(arg_value(v), COMPONENT, HEX)
        end
      end
    else
      k = k + 1; out[k] = ekey .. "=" .. gsub(arg_value(value), COMPONENT, HEX)
    end
  end
  return concat(out, "&", 1, k)
end

local function set_arg(t, key, value)
  local old = t[key]
  if old == nil then
    t[key] = value
  elseif type(old) == "table" then
    old[#old + 1] = value
  else
    t[key] = { old, value }
  end
end

function ngx.decode_args(...)
  local n = select("#", ...)
  if n ~= 1 and n ~= 2 then error("expecting 1 or 2 arguments but seen " .. n, 2) end
  local s, max = ...
  if type(s) ~= "string" then s = check_string(s, 1, "decode_args") end
  if n == 2 then
    max = tonumber(max)
    if not max then
      error("bad argument #2 to 'decode_args' (number expected, got " .. type((select(2, ...))) .. ")", 2)
    end
    max = max - max % 1
  else
    max = 100
  end
  local t, count, i, len = {}, 0, 1, #s
  while i <= len do
    local amp = find(s, "&", i, true)
    local seg = sub(s, i, amp and amp - 1 or len)
    local eq = find(seg, "=", 1, true)
    local key, value
    if eq then
      key, value = unescape(sub(seg, 1, eq - 1)), unescape(sub(seg, eq + 1))
    else
      key, value = unescape(seg), true
    end
    if key ~= "" then set_arg(t, key, value) end
    if not amp then break end
    count = count + 1
    if max > 0 and count == max then return t, "truncated" end
    i = amp + 1
  end
  return t
end

---------------------------------------------------------------------------------
-- SQL quoting (MySQL style, as ngx.quote_sql_str)
---------------------------------------------------------------------------------
local SQL_ESCAPES = {
  ["\0"] = "\\0", ["\b"] = "\\b", ["\n"] = "\\n", ["\r"] = "\\r", ["\t"] = "\\t",
  ["\26"] = "\\Z", ["\\"] = "\\\\", ["'"] = "\\'", ['"'] = '\\"',
}

function ngx.quote_sql_str(...)
  if select("#", ...) ~= 1 then error("expecting one argument", 2) end
  local s = check_string((...), 1, "quote_sql_str")
  return "'" .. gsub(s, "[%z\b\n\r\t\26\\'\"]", SQL_ESCAPES) .. "'"
end

return ngx

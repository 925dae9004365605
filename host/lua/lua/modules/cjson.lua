-- cjson: OpenResty's lua-cjson (2.1.0.x) in pure Lua, so encode/decode never cross to
-- Python (Lua tables would have to be converted both ways, which costs more than the
-- work itself for the small documents plugins handle).
--
-- Behaviour follows lua-cjson: numbers as "%.14g" (encode_number_precision), '/' escaped
-- as "\/", invalid UTF-8 passed through, object keys in table (pairs) order, arrays
-- detected as cjson does (excessively sparse arrays raise), empty tables as {} unless
-- configured, array_mt / empty_array_mt / empty_array / __len honoured, JSON null is
-- cjson.null (the same sentinel as ngx.null); the error messages are cjson's.
-- Every cjson.new() has its own configuration; cjson.safe returns nil, err instead of
-- raising (host module cjson.safe).
local _, H = ...

local type, tostring, tonumber, error, select, pairs, rawget = type, tostring, tonumber, error, select, pairs, rawget
local getmetatable, setmetatable, floor, huge = getmetatable, setmetatable, math.floor, math.huge
local byte, char, sub, find, gsub, format, lower = string.byte, string.char, string.sub, string.find, string.gsub, string.format, string.lower
local band, bor, rshift, lshift = bit.band, bit.bor, bit.rshift, bit.lshift
local new_buffer = require("string.buffer").new

local null = H.null
local empty_array = newproxy(false)        -- encodes as []
local array_mt, empty_array_mt = {}, {}    -- shared by every instance, as in lua-cjson
H.cjson_empty_array = empty_array

local INT_MAX = 2147483647

---------------------------------------------------------------------------------
-- configuration helpers (json_enum_option / json_integer_option)
---------------------------------------------------------------------------------
local function arg_count(fname, max, ...)
  if select("#", ...) > max then
    error(format("bad argument #%d to '%s' (found too many arguments)", max + 1, fname), 3)
  end
end

local function enum_option(fname, cfg, key, value, options)
  if value ~= nil then
    if type(value) == "boolean" then
      cfg[key] = value and 1 or 0
    else
      local found
      for i, name in ipairs(options or { "off", "on" }) do
        if value == name then found = i - 1 end
      end
      if not found then
        error(format("bad argument #1 to '%s' (invalid option '%s')", fname, tostring(value)), 3)
      end
      cfg[key] = found
    end
  end
  local v = cfg[key]
  if v == 0 or v == 1 then return v == 1 end
  return options[v + 1]
end

local function integer_option(fname, cfg, key, value, min, max, argn)
  if value ~= nil then
    local n = tonumber(value)
    if not n then
      error(format("bad argument #%d to '%s' (number expected, got %s)", argn or 1, fname, type(value)), 3)
    end
    n = n >= 0 and floor(n) or -floor(-n)
    if n < min or n > max then
      error(format("bad argument #1 to '%s' (expected integer between %d and %d)", fname, min, max), 3)
    end
    cfg[key] = n
  end
  return cfg[key]
end

---------------------------------------------------------------------------------
-- encoding
---------------------------------------------------------------------------------
local ESCAPES = { ['"'] = '\\"', ["\\"] = "\\\\", ["/"] = "\\/", ["\127"] = "\\u007f",
  ["\b"] = "\\b", ["\t"] = "\\t", ["\n"] = "\\n", ["\f"] = "\\f", ["\r"] = "\\r" }
for b = 0, 31 do
  local c = char(b)
  if not ESCAPES[c] then ESCAPES[c] = format("\\u%04x", b) end
end
local ESCAPE_SLASH, KEEP_SLASH = '[%z\1-\31"\\/\127]', '[%z\1-\31"\\\127]'

local function make_encoder(cfg)
  local buf, indent   -- the buffer of the running call; indent string or nil

  local function encode_number(n)
    if n ~= n or n == huge or n == -huge then
      local mode = cfg.encode_invalid_numbers
      if mode == 0 then error("Cannot serialise number: must not be NaN or Infinity", 0) end
      if mode == 2 then return buf:put("null") end
      if n ~= n then return buf:put("NaN") end
      return buf:put(n > 0 and "Infinity" or "-Infinity")
    end
    if cfg.encode_number_precision == 14 then return buf:put(n) end
    buf:put(format(cfg.number_format, n))
  end

  local function encode_string(s)
    local pattern = cfg.encode_escape_forward_slash == 1 and ESCAPE_SLASH or KEEP_SLASH
    if find(s, pattern) then s = gsub(s, pattern, ESCAPES) end
    buf:put('"', s, '"')
  end

  local function newline(depth)
    buf:put("\n")
    for _ = 1, depth do buf:put(indent) end
  end

  local function unsupported(v)
    local t = type(v)
    return (t == "function" or t == "thread" or t == "userdata") and v ~= null and v ~= empty_array
  end

  -- number of array items (>= 0) or -1 for an object; excessively sparse arrays raise
  local function array_length(t)
    local max, items = 0, 0
    for k in pairs(t) do
      if type(k) == "number" and k >= 1 and floor(k) == k then
        if k > max then max = k end
        items = items + 1
      else
        return -1
      end
    end
    local ratio = cfg.encode_sparse_ratio
    if ratio > 0 and max > items * ratio and max > cfg.encode_sparse_safe then
      if cfg.encode_sparse_convert == 0 then
        error("Cannot serialise table: excessively sparse array", 0)
      end
      return -1
    end
    return max
  end

  local encode_value

  local function encode_array(t, len, raw, depth)
    buf:put("[")
    local first = true
    for i = 1, len do
      local v
      if raw then v = rawget(t, i) else v = t[i] end
      if not (cfg.encode_skip_unsupported_value_types == 1 and unsupported(v)) then
        if not first then buf:put(",") end
        first = false
        if indent then newline(depth) end
        encode_value(v, depth)
      end
    end
    if indent and len > 0 then newline(depth - 1) end
    buf:put("]")
  end

  local function encode_object(t, depth)
    buf:put("{")
    local first, any = true, false
    for k, v in pairs(t) do
      any = true
      if not (cfg.encode_skip_unsupported_value_types == 1 and unsupported(v)) then
        if not first then buf:put(",") end
        first = false
        if indent then newline(depth) end
        local kt = type(k)
        if kt == "string" then
          encode_string(k)
        elseif kt == "number" then
          buf:put('"')
          encode_number(k)
          buf:put('"')
        else
          error("Cannot serialise " .. kt .. ": table key must be a number or string", 0)
        end
        buf:put(indent and ": " or ":")
        encode_value(v, depth)
      end
    end
    if indent and any then newline(depth - 1) end
    buf:put("}")
  end

  local function encode_table(t, depth)
    depth = depth + 1
    if depth > cfg.encode_max_depth then
      error(format("Cannot serialise, excessive nesting (%d)", depth), 0)
    end
    local mt = getmetatable(t)
    if mt ~= nil then
      if mt == array_mt then return encode_array(t, #t, true, depth) end
      local len_fn = rawget(mt, "__len")
      if len_fn then return encode_array(t, tonumber(len_fn(t)) or 0, false, depth) end
    end
    local len = array_length(t)
    if len > 0 or (len == 0 and cfg.encode_empty_table_as_object == 0) then
      return encode_array(t, len, true, depth)
    end
    if mt == empty_array_mt then return encode_array(t, #t, true, depth) end
    return encode_object(t, depth)
  end

  function encode_value(v, depth)
    local t = type(v)
    if t == "string" then
      encode_string(v)
    elseif t == "number" then
      encode_number(v)
    elseif t == "boolean" then
      buf:put(v and "true" or "false")
    elseif t == "table" then
      encode_table(v, depth)
    elseif v == nil or v == null then
      buf:put("null")
    elseif v == empty_array then
      buf:put("[]")
    else
      error("Cannot serialise " .. t .. ": type not supported", 0)
    end
  end

  return function(...)
    if select("#", ...) ~= 1 then
      error("bad argument #1 to 'encode' (expected 1 argument)", 2)
    end
    local outer = buf
    buf = new_buffer()
    indent = cfg.encode_indent ~= "" and cfg.encode_indent or nil
    local ok, err = pcall(encode_value, (...), 0)
    local out = buf:tostring()
    buf = outer
    if not ok then error(err, 0) end
    return out
  end
end

---------------------------------------------------------------------------------
-- decoding
---------------------------------------------------------------------------------
local UNESCAPE = { [34] = '"', [92] = "\\", [47] = "/", [98] = "\b", [116] = "\t",
  [110] = "\n", [102] = "\f", [114] = "\r" }
local SINGLE = { [123] = "T_OBJ_BEGIN", [125] = "T_OBJ_END", [91] = "T_ARR_BEGIN",
  [93] = "T_ARR_END", [44] = "T_COMMA", [58] = "T_COLON" }
local LLONG = 9223372036854775807

local function utf8_char(cp)
  if cp < 0x80 then return char(cp) end
  if cp < 0x800 then return char(bor(0xC0, rshift(cp, 6)), bor(0x80, band(cp, 0x3F))) end
  if cp < 0x10000 then
    return char(bor(0xE0, rshift(cp, 12)), bor(0x80, band(rshift(cp, 6), 0x3F)), bor(0x80, band(cp, 0x3F)))
  end
  return char(bor(0xF0, rshift(cp, 18)), bor(0x80, band(rshift(cp, 12), 0x3F)),
    bor(0x80, band(rshift(cp, 6), 0x3F)), bor(0x80, band(cp, 0x3F)))
end

local function make_decoder(cfg)
  local str, len, depth

  -- strtod's forms that cjson lets through: decimal, hex, inf/infinity, nan
  local function scan_float(p)
    local s, e = find(str, "^[+-]?0[xX]%x+", p)
    if s then
      local v = tonumber(sub(str, s + (byte(str, s) == 48 and 0 or 1), e))
      if byte(str, s) == 45 then v = -v end
      return v, e + 1
    end
    local sign = byte(str, p)
    local q = (sign == 43 or sign == 45) and p + 1 or p
    local word = lower(sub(str, q, q + 7))
    local neg = sign == 45 and -1 or 1
    if sub(word, 1, 8) == "infinity" then return neg * huge, q + 8 end
    if sub(word, 1, 3) == "inf" then return neg * huge, q + 3 end
    if sub(word, 1, 3) == "nan" then return 0 / 0, q + 3 end
    s, e = find(str, "^%d*%.?%d*", q)
    if e < q or (e == q and byte(str, q) == 46) then return nil end
    local e2 = select(2, find(str, "^[eE][+-]?%d+", e + 1))
    e = e2 or e
    return tonumber(sub(str, q, e)) * neg, e + 1
  end

  local function is_invalid_number(p)
    local c = byte(str, p)
    if c == 43 then return true end
    if c == 45 then p = p + 1; c = byte(str, p) end
    if c == 48 then
      local c2 = byte(str, p + 1) or 0
      return c2 == 120 or c2 == 88 or (c2 >= 48 and c2 <= 57)
    end
    if c == nil or c <= 57 then return false end
    local word = lower(sub(str, p, p + 2))
    return word == "inf" or word == "nan"
  end

  local function number_token(p)
    local s, e = find(str, "^[+-]?%d+", p)
    local nxt = s and byte(str, e + 1)
    if s and nxt ~= 46 and nxt ~= 101 and nxt ~= 69 and nxt ~= 120 then
      local v = tonumber(sub(str, byte(str, p) == 43 and p + 1 or p, e))
      if v >= LLONG then v = LLONG elseif v < -LLONG then v = -LLONG - 1 end
      if v == 0 then v = 0 end
      return "T_INTEGER", v, e + 1
    end
    local v, after = scan_float(p)
    if not v then return "T_ERROR", "invalid number", p end
    return "T_NUMBER", v, after
  end

  local function string_token(p)
    local q, parts, n = p + 1, nil, 0
    while true do
      local s = find(str, '["\\%z]', q)
      if not s then return "T_ERROR", "unexpected end of string", len + 1 end
      local c = byte(str, s)
      if c == 34 then
        if not parts then return "T_STRING", sub(str, q, s - 1), s + 1 end
        parts[n + 1] = sub(str, q, s - 1)
        return "T_STRING", table.concat(parts, "", 1, n + 1), s + 1
      end
      if c == 0 then return "T_ERROR", "unexpected end of string", s end
      parts = parts or {}
      n = n + 1
      parts[n] = sub(str, q, s - 1)
      local e = byte(str, s + 1)
      if e == 117 then
        local hex = sub(str, s + 2, s + 5)
        local cp = find(hex, "^%x%x%x%x$") and tonumber(hex, 16)
        local used = 6
        if cp and band(cp, 0xF800) == 0xD800 then
          local low_hex = sub(str, s + 8, s + 11)
          local low = band(cp, 0x400) == 0 and sub(str, s + 6, s + 7) == "\\u"
            and find(low_hex, "^%x%x%x%x$") and tonumber(low_hex, 16)
          if low and band(low, 0xFC00) == 0xDC00 then
            cp = bor(lshift(band(cp, 0x3FF), 10), band(low, 0x3FF)) + 0x10000
            used = 12
          else
            cp = nil
          end
        end
        if not cp then return "T_ERROR", "invalid unicode escape code", s end
        n = n + 1
        parts[n] = utf8_char(cp)
        q = s + used
      else
        local ch = e and UNESCAPE[e]
        if not ch then return "T_ERROR", "invalid escape code", s end
        n = n + 1
        parts[n] = ch
        q = s + 2
      end
    end
  end

  -- the next token: type name, value, position (1-based) where it starts / failed
  local pos
  local function next_token()
    local c
    while true do
      pos = find(str, "[^ \t\n\r]", pos) or len + 1
      c = byte(str, pos)
      if cfg.decode_allow_comment == 0 or c ~= 47 then break end
      local c2 = byte(str, pos + 1)
      if c2 == 47 then
        pos = find(str, "\n", pos + 2, true) or len + 1
      elseif c2 == 42 then
        local close = find(str, "*/", pos + 2, true)
        if not close then return "T_ERROR", "unclosed multi-line comment", len + 1 end
        pos = close + 2
      else
        break
      end
    end
    local start = pos
    if c == nil or c == 0 then return "T_END", nil, start end
    local single = SINGLE[c]
    if single then
      pos = pos + 1
      return single, nil, start
    end
    local ttype, value, after
    if c == 34 then
      ttype, value, after = string_token(pos)
    elseif c == 45 or (c >= 48 and c <= 57) then
      if cfg.decode_invalid_numbers == 0 and is_invalid_number(pos) then
        return "T_ERROR", "invalid number", start
      end
      ttype, value, after = number_token(pos)
    elseif sub(str, pos, pos + 3) == "true" then
      ttype, value, after = "T_BOOLEAN", true, pos + 4
    elseif sub(str, pos, pos + 4) == "false" then
      ttype, value, after = "T_BOOLEAN", false, pos + 5
    elseif sub(str, pos, pos + 3) == "null" then
      ttype, value, after = "T_NULL", null, pos + 4
    elseif (c == 43 or c == 105 or c == 73 or c == 110 or c == 78)
        and cfg.decode_invalid_numbers == 1 and is_invalid_number(pos) then
      ttype, value, after = number_token(pos)
    else
      return "T_ERROR", "invalid token", start
    end
    if ttype == "T_ERROR" then return ttype, value, after end
    pos = after
    return ttype, value, start
  end

  local function fail(expected, ttype, value, at)
    error(format("Expected %s but found %s at character %d", expected,
      ttype == "T_ERROR" and value or ttype, at), 0)
  end

  local function descend()
    depth = depth + 1
    if depth > cfg.decode_max_depth then
      error(format("Found too many nested data structures (%d) at character %d", depth, pos - 1), 0)
    end
  end

  local parse_object, parse_array

  local function value_of(ttype, value, at)
    if ttype == "T_STRING" or ttype == "T_INTEGER" or ttype == "T_NUMBER"
        or ttype == "T_BOOLEAN" or ttype == "T_NULL" then
      return value
    end
    if ttype == "T_OBJ_BEGIN" then return parse_object() end
    if ttype == "T_ARR_BEGIN" then return parse_array() end
    fail("value", ttype, value, at)
  end

  function parse_object()
    descend()
    local t = {}
    local ttype, value, at = next_token()
    if ttype == "T_OBJ_END" then depth = depth - 1 return t end
    while true do
      if ttype ~= "T_STRING" then fail("object key string", ttype, value, at) end
      local key = value
      ttype, value, at = next_token()
      if ttype ~= "T_COLON" then fail("colon", ttype, value, at) end
      t[key] = value_of(next_token())
      ttype, value, at = next_token()
      if ttype == "T_OBJ_END" then depth = depth - 1 return t end
      if ttype ~= "T_COMMA" then fail("comma or object end", ttype, value, at) end
      ttype, value, at = next_token()
    end
  end

  function parse_array()
    descend()
    local t = {}
    if cfg.decode_array_with_array_mt == 1 then setmetatable(t, array_mt) end
    local ttype, value, at = next_token()
    if ttype == "T_ARR_END" then depth = depth - 1 return t end
    local i = 0
    while true do
      i = i + 1
      t[i] = value_of(ttype, value, at)
      ttype, value, at = next_token()
      if ttype == "T_ARR_END" then depth = depth - 1 return t end
      if ttype ~= "T_COMMA" then fail("comma or array end", ttype, value, at) end
      ttype, value, at = next_token()
    end
  end

  return function(...)
    if select("#", ...) ~= 1 then
      error("bad argument #1 to 'decode' (expected 1 argument)", 2)
    end
    local s = ...
    if type(s) ~= "string" then
      if type(s) ~= "number" then
        error("bad argument #1 to 'decode' (string expected, got " .. type(s) .. ")", 2)
      end
      s = tostring(s)
    end
    if #s >= 2 and (byte(s, 1) == 0 or byte(s, 2) == 0) then
      error("JSON parser does not support UTF-16 or UTF-32", 0)
    end
    str, len, depth, pos = s, #s, 0, 1
    local result = value_of(next_token())
    local ttype, value, at = next_token()
    if ttype ~= "T_END" then fail("the end", ttype, value, at) end
    str = nil
    return result
  end
end

---------------------------------------------------------------------------------
-- module tables
---------------------------------------------------------------------------------
local function new()
  local cfg = {
    encode_sparse_convert = 0, encode_sparse_ratio = 2, encode_sparse_safe = 10,
    encode_max_depth = 1000, decode_max_depth = 1000, encode_invalid_numbers = 0,
    decode_invalid_numbers = 1, encode_keep_buffer = 1, encode_number_precision = 14,
    number_format = "%.14g", encode_empty_table_as_object = 1, decode_array_with_array_mt = 0,
    decode_allow_comment = 0, encode_escape_forward_slash = 1,
    encode_skip_unsupported_value_types = 0, encode_indent = "",
  }
  local m = {
    encode = make_encoder(cfg), decode = make_decoder(cfg), new = new,
    null = null, empty_array = empty_array, array_mt = array_mt, empty_array_mt = empty_array_mt,
    _NAME = "cjson", _VERSION = "2.1.0.14",
  }
  local function flag(name)
    m[name] = function(...)
      arg_count(name, 1, ...)
      return enum_option(name, cfg, name, (...))
    end
  end
  for _, name in ipairs({ "encode_empty_table_as_object", "decode_array_with_array_mt",
      "decode_allow_comment", "encode_keep_buffer", "decode_invalid_numbers",
      "encode_escape_forward_slash", "encode_skip_unsupported_value_types" }) do
    flag(name)
  end
  function m.encode_invalid_numbers(...)
    arg_count("encode_invalid_numbers", 1, ...)
    return enum_option("encode_invalid_numbers", cfg, "encode_invalid_numbers", (...), { "off", "on", "null" })
  end
  function m.encode_sparse_array(...)
    arg_count("encode_sparse_array", 3, ...)
    local convert, ratio, safe = ...
    return enum_option("encode_sparse_array", cfg, "encode_sparse_convert", convert),
      integer_option("encode_sparse_array", cfg, "encode_sparse_ratio", ratio, 0, INT_MAX, 2),
      integer_option("encode_sparse_array", cfg, "encode_sparse_safe", safe, 0, INT_MAX, 3)
  end
  for _, name in ipairs({ "encode_max_depth", "decode_max_depth" }) do
    m[name] = function(...)
      arg_count(name, 1, ...)
      return integer_option(name, cfg, name, (...), 1, INT_MAX)
    end
  end
  function m.encode_number_precision(...)
    arg_count("encode_number_precision", 1, ...)
    local n = integer_option("encode_number_precision", cfg, "encode_number_precision", (...), 1, 16)
    cfg.number_format = "%." .. n .. "g"
    return n
  end
  function m.encode_indent(...)
    arg_count("encode_indent", 1, ...)
    local v = ...
    if v ~= nil then
      if type(v) ~= "string" and type(v) ~= "number" then
        error("bad argument #1 to 'encode_indent' (string expected, got " .. type(v) .. ")", 2)
      end
      cfg.encode_indent = tostring(v)
    end
    return cfg.encode_indent
  end
  return m
end

return new()

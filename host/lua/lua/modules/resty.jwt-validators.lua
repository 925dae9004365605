-- resty.jwt-validators (lua-resty-jwt): claim validators for jwt:verify's claim specs.
-- A validator is function(val, claim, jwt_json) -> true | false, or raises a message
-- that becomes the jwt_obj's reason.  Each named validator comes in two forms:
-- `opt_<name>(...)` passes when the claim is absent, `<name>(...)` requires it.
--   chain(fn...), required(fn?), require_one_of({claims}), check(v, fn, name?, type?),
--   equals(v), matches(pattern), any_of(vs, fn), equals_any_of(vs), matches_any_of(ps),
--   contains_any_of(vs), greater_than[_or_equal](n), less_than[_or_equal](n),
--   is_not_before(), is_not_expired(), is_at(), set_system_leeway(s), set_system_clock(fn)
local _, H = ...
local type, error, ipairs, pairs, next = type, error, ipairs, pairs, next
local fmt, match, concat = string.format, string.match, table.concat

local _M = { _VERSION = "0.2.4" }

local MSG = {
  nil_validator = "Cannot create validator for nil %s.",
  wrong_type_validator = "Cannot create validator for non-%s %s.",
  empty_table_validator = "Cannot create validator for empty table %s.",
  wrong_table_type_validator = "Cannot create validator for non-%s table %s.",
  required_claim = "'%s' claim is required.",
  wrong_type_claim = "'%s' is malformed.  Expected to be a %s.",
  missing_claim = "Missing one of claims - [ %s ].",
}

local function raise(m, ...) error(fmt(m, ...), 0) end

local function not_nil(v, m, ...)
  if v == nil then raise(m, ...) end
  return v
end

local function of_type(v, t, m, ...)
  if type(v) ~= t then raise(m, ...) end
  return v
end

local function non_empty_table(v, m, ...)
  of_type(v, "table", m, ...)
  if next(v) == nil then raise(m, ...) end
  return v
end

local function table_of(v, t, m, ...)
  if v ~= nil then
    non_empty_table(v, m, ...)
    for _, x in ipairs(v) do of_type(x, t, m, ...) end
  end
  return v
end

local function non_negative(v, m, ...)
  if v ~= nil then
    of_type(v, "number", m, ...)
    if v < 0 then raise(m, ...) end
  end
  return v
end

-- `fx` is the optional form; the required one chains `required()` before it
local function define(name, fx)
  _M["opt_" .. name] = fx
  _M[name] = function(...) return _M.chain(_M.required(), fx(...)) end
end

function _M.chain(...)
  local fns = { ... }
  for _, fx in ipairs(fns) do of_type(fx, "function", MSG.wrong_type_validator, "function", "chain_function") end
  return function(val, claim, jwt_json)
    for _, fx in ipairs(fns) do
      if fx(val, claim, jwt_json) == false then return false end
    end
    return true
  end
end

function _M.required(fx)
  if fx ~= nil then return _M.chain(_M.required(), fx) end
  return function(val, claim)
    not_nil(val, MSG.required_claim, claim)
    return true
  end
end

function _M.require_one_of(keys)
  not_nil(keys, MSG.nil_validator, "claim_keys")
  of_type(keys, "table", MSG.wrong_type_validator, "table", "claim_keys")
  non_empty_table(keys, MSG.empty_table_validator, "claim_keys")
  table_of(keys, "string", MSG.wrong_table_type_validator, "string", "claim_keys")
  return function(val, claim)
    of_type(val, "table", MSG.wrong_type_claim, claim, "table")
    of_type(val.payload, "table", MSG.wrong_type_claim, claim .. ".payload", "table")
    for _, k in ipairs(keys) do
      if val.payload[k] ~= nil then return true end
    end
    raise(MSG.missing_claim, concat(keys, ", "))
  end
end

define("check", function(check_val, check_fn, name, check_type)
  name = name or "check_val"
  not_nil(check_val, MSG.nil_validator, name)
  not_nil(check_fn, MSG.nil_validator, "check_function")
  of_type(check_fn, "function", MSG.wrong_type_validator, "function", "check_function")
  check_type = check_type or type(check_val)
  return function(val, claim)
    if val == nil then return true end
    of_type(val, check_type, MSG.wrong_type_claim, claim, check_type)
    return check_fn(val, check_val)
  end
end)

local function equal(a, b) return a == b end
local function matching(s, pattern) return match(s, pattern) ~= nil end
local function contains(list, x)
  for _, v in pairs(list) do
    if v == x then return true end
  end
  return false
end

define("equals", function(v) return _M.opt_check(v, equal, "check_val") end)

define("matches", function(pattern)
  of_type(pattern, "string", MSG.wrong_type_validator, "string", "pattern")
  return _M.opt_check(pattern, matching, "pattern", "string")
end)

define("any_of", function(values, fn, name, check_type, table_type)
  name = name or "check_values"
  not_nil(values, MSG.nil_validator, name)
  of_type(values, "table", MSG.wrong_type_validator, "table", name)
  non_empty_table(values, MSG.empty_table_validator, name)
  table_type = table_type or type(values[1])
  table_of(values, table_type, MSG.wrong_table_type_validator, table_type, name)
  not_nil(fn, MSG.nil_validator, "check_function")
  of_type(fn, "function", MSG.wrong_type_validator, "function", "check_function")
  return _M.opt_check(values, function(val, list)
    for _, v in ipairs(list) do
      if fn(val, v) then return true end
    end
    return false
  end, name, check_type or table_type)
end)

define("equals_any_of", function(values) return _M.opt_any_of(values, equal, "check_values") end)
define("matches_any_of", function(patterns)
  return _M.opt_any_of(patterns, matching, "patterns", "string", "string")
end)
define("contains_any_of", function(values, name)
  return _M.opt_any_of(values, contains, name, "table", "string")
end)

local COMPARE = {
  greater_than = function(a, b) return a > b end,
  greater_than_or_equal = function(a, b) return a >= b end,
  less_than = function(a, b) return a < b end,
  less_than_or_equal = function(a, b) return a <= b end,
}
for name, cmp in pairs(COMPARE) do
  define(name, function(v)
    of_type(v, "number", MSG.wrong_type_validator, "number", "check_val")
    return _M.opt_check(v, cmp, "check_val", "number")
  end)
end

-- dates: compared with the clock (ngx.now by default) within the leeway
local leeway = 0
local clock = function() return H.ngx.now() end

function _M.set_system_leeway(s)
  of_type(s, "number", "leeway must be a non-negative number")
  non_negative(s, "leeway must be a non-negative number")
  leeway = s
end

function _M.set_system_clock(fn)
  of_type(fn, "function", "clock must be a function")
  local t = fn()
  of_type(t, "number", "clock function must return a non-negative number")
  non_negative(t, "clock function must return a non-negative number")
  clock = fn
end

local function date_validator(ok, words)
  return function(val, claim)
    if val == nil then return true end
    non_negative(val, MSG.wrong_type_claim, claim, "positive numeric value")
    if not ok(val, clock()) then raise("'%s' claim %s %s", claim, words, H.ngx.http_time(val)) end
    return true
  end
end

define("is_not_before", function()
  return date_validator(function(v, now) return v <= now + leeway end, "not valid until")
end)
define("is_not_expired", function()
  return date_validator(function(v, now) return v > now - leeway end, "expired at")
end)
define("is_at", function()
  return date_validator(function(v, now) return v >= now - leeway and v <= now + leeway end,
    "is only valid at")
end)

return _M

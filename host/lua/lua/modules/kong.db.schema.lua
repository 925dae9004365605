-- kong.db.schema for Lua plugins: what plugin schema files use from Kong's Schema.
--
--  * Schema.define(tbl): makes a definition callable, `def { required = true }`
--    returning the argument completed with the definition's other attributes;
--  * Schema.validators: Kong's single-field validators (value, arg) -> true | nil, err,
--    e.g. `require("kong.db.schema").validators.is_regex(s)` in a custom validator;
--  * Schema.validators_order, Schema.valid_types.
--
-- Schemas themselves are compiled and applied by the Python engine (host/schema/,
-- via host/lua/schema.py); the messages below come from it (host/schema/messages.py).
local backing, H = ...

local type, pairs, tostring, setmetatable = type, pairs, tostring, setmetatable
local sub, find, format = string.sub, string.find, string.format
local concat = table.concat
local null = H.null

local MESSAGES = backing.messages()

local Schema = {}

--- A definition table that can be called to override some of its attributes.
function Schema.define(tbl)
  return setmetatable(tbl, {
    __call = function(def, overrides)
      local out = overrides or {}
      for k, v in pairs(def) do
        if out[k] == nil then out[k] = v end
      end
      return out
    end,
  })
end

Schema.valid_types = {
  array = true, set = true, string = true, number = true, boolean = true, integer = true,
  foreign = true, map = true, record = true, ["function"] = true, json = true,
}

Schema.validators_order = {
  "eq", "ne", "not_one_of", "one_of",
  "gt", "timestamp", "uuid", "is_regex", "between",
  "len_eq", "len_min", "len_max",
  "starts_with", "not_match", "match_none", "match", "match_all", "match_any",
  "contains",
  "custom_validator", "mutually_exclusive_subsets",
}

-- 'a', 'b' ; nested lists as ('a', 'b')
local function quoted_list(words)
  local out = {}
  for i = 1, #words do
    local word = words[i]
    if type(word) == "table" then
      out[i] = "(" .. quoted_list(word) .. ")"
    else
      out[i] = "'" .. tostring(word) .. "'"
    end
  end
  return concat(out, ", ")
end

local function shown(value)
  if value == null then return "null" end
  return tostring(value)
end

local function length_validator(name, ok)
  return function(value, n, field)
    local len = #value
    if field and field.type == "map" then
      for _ in pairs(value) do len = len + 1 end
    end
    if ok(len, n) then return true end
    return nil, format(MESSAGES[name], n)
  end
end

local function matches(value, pattern)
  return find(value, pattern) ~= nil
end

local V = {}

function V.eq(value, wanted)
  if value == wanted then return true end
  return nil, format(MESSAGES.EQ, shown(wanted))
end

function V.ne(value, unwanted)
  if value ~= unwanted then return true end
  return nil, format(MESSAGES.NE, unwanted == null and "null" or tostring(value))
end

function V.one_of(value, options)
  for i = 1, #options do
    if value == options[i] then return true end
  end
  return nil, format(MESSAGES.ONE_OF, concat(options, ", "))
end

function V.not_one_of(value, options)
  for i = 1, #options do
    if value == options[i] then
      return nil, format(MESSAGES.NOT_ONE_OF, concat(options, ", "))
    end
  end
  return true
end

function V.gt(value, limit)
  if value > limit then return true end
  return nil, format(MESSAGES.GT, tostring(limit))
end

function V.between(value, limits)
  if value < limits[1] or value > limits[2] then
    return nil, format(MESSAGES.BETWEEN, limits[1], limits[2])
  end
  return true
end

function V.timestamp(value)
  return value > 0 or nil
end

local UUID = "^%x%x%x%x%x%x%x%x%-%x%x%x%x%-%x%x%x%x%-%x%x%x%x%-%x%x%x%x%x%x%x%x%x%x%x%x$"
function V.uuid(value)
  return matches(value, UUID) or nil
end

function V.is_regex(value)
  return backing.is_regex(value)
end

V.len_eq = length_validator("LEN_EQ", function(len, n) return len == n end)
V.len_min = length_validator("LEN_MIN", function(len, n) return len >= n end)
V.len_max = length_validator("LEN_MAX", function(len, n) return len <= n end)

function V.starts_with(value, prefix)
  if sub(value, 1, #prefix) == prefix then return true end
  return nil, format(MESSAGES.STARTS_WITH, prefix)
end

function V.match(value, pattern)
  if matches(value, pattern) then return true end
  return nil, format(MESSAGES.MATCH, value)
end

function V.not_match(value, pattern)
  if matches(value, pattern) then return nil, format(MESSAGES.NOT_MATCH, value) end
  return true
end

function V.match_all(value, list)
  for i = 1, #list do
    if not matches(value, list[i].pattern) then return nil, list[i].err end
  end
  return true
end

function V.match_none(value, list)
  for i = 1, #list do
    if matches(value, list[i].pattern) then return nil, list[i].err end
  end
  return true
end

function V.match_any(value, arg)
  local patterns = arg.patterns
  for i = 1, #patterns do
    if matches(value, patterns[i]) then return true end
  end
  return nil, arg.err
end

function V.contains(list, wanted)
  for i = 1, #list do
    if list[i] == wanted then return true end
  end
  return nil, format(MESSAGES.CONTAINS, tostring(wanted))
end

function V.mutually_exclusive_subsets(value, subsets)
  local owner = {}
  for i = 1, #subsets do
    local subset = subsets[i]
    for j = 1, #subset do owner[subset[j]] = subset end
  end
  local used, seen = {}, {}
  for i = 1, #value do
    local subset = owner[value[i]]
    if subset and not seen[subset] then
      seen[subset] = true
      used[#used + 1] = subset
    end
  end
  if #used <= 1 then return true end
  return nil, format(MESSAGES.MUTUALLY_EXCLUSIVE_SETS, quoted_list(used))
end

function V.custom_validator(value, fn)
  return fn(value)
end

Schema.validators = V

return Schema

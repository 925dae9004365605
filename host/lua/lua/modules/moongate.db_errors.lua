-- kong.db's error objects (the module `moongate.db` hands its DAOs as `dao.errors`).
--
-- Kong's DAO errors are `err_t` tables {code, name, message, strategy, fields} that
-- print as "[<strategy>] <message>".  Kong builds them with methods of an errors
-- object (`self.errors:not_found(pk)`), which custom DAO modules use too; this module
-- is that object for DB-less mode (strategy "off"), with the same codes, names and
-- message formats, plus the key-value validation the DAOs share (`validate_field`,
-- `check_unique_type`).
local _, H = ...
local type, pairs, ipairs, tostring, error = type, pairs, ipairs, tostring, error
local setmetatable, getmetatable = setmetatable, getmetatable
local fmt, concat, sort, floor, upper = string.format, table.concat, table.sort, math.floor, string.upper

local null = H.null

local CODES = {
  INVALID_PRIMARY_KEY = 1, SCHEMA_VIOLATION = 2, PRIMARY_KEY_VIOLATION = 3,
  FOREIGN_KEY_VIOLATION = 4, UNIQUE_VIOLATION = 5, NOT_FOUND = 6, INVALID_OFFSET = 7,
  DATABASE_ERROR = 8, INVALID_SIZE = 9, INVALID_UNIQUE = 10, INVALID_OPTIONS = 11,
  OPERATION_UNSUPPORTED = 12, FOREIGN_KEYS_UNRESOLVED = 13, DECLARATIVE_CONFIG = 14,
  TRANSFORMATION_ERROR = 15, INVALID_FOREIGN_KEY = 16, INVALID_WORKSPACE = 17,
  INVALID_UNIQUE_GLOBAL = 18, REFERENCED_BY_OTHERS = 19, INVALID_SEARCH_QUERY = 20,
}

local NAMES = {}
for key, code in pairs(CODES) do NAMES[code] = key:lower():gsub("_", " ") end
NAMES[CODES.UNIQUE_VIOLATION] = "unique constraint violation"
NAMES[CODES.INVALID_UNIQUE] = "invalid unique %s"
NAMES[CODES.DECLARATIVE_CONFIG] = "invalid declarative configuration"
NAMES[CODES.INVALID_UNIQUE_GLOBAL] = "invalid global query"

local ERR_MT = {
  __tostring = function(e)
    local m = e.message
    if m == nil or m == null then m = e.name end
    if e.strategy then return "[" .. e.strategy .. "] " .. m end
    return m
  end,
  __concat = function(a, b) return tostring(a) .. tostring(b) end,
}

-- Penlight's pretty.write(t, ""): {id="x",name="y"} (keys sorted)
local function pretty(v)
  if type(v) == "string" then return fmt("%q", v) end
  if type(v) ~= "table" then return tostring(v) end
  local keys = {}
  for k in pairs(v) do keys[#keys + 1] = k end
  sort(keys, function(a, b) return tostring(a) < tostring(b) end)
  local parts = {}
  for i, k in ipairs(keys) do
    local kt = (type(k) == "string" and k:match("^[%a_][%w_]*$")) and k or "[" .. pretty(k) .. "]"
    parts[i] = kt .. "=" .. pretty(v[k])
  end
  return "{" .. concat(parts, ",") .. "}"
end

local function sorted_keys(t)
  local keys = {}
  for k in pairs(t) do keys[#keys + 1] = k end
  sort(keys, function(a, b) return tostring(a) < tostring(b) end)
  return keys
end

local E = { codes = CODES, names = NAMES, strategy = "off",
  MISSING_PK = "missing primary key", REQUIRED = "required field missing" }
local E_MT = { __index = E }

--- A new err_t (an err_t given as the message is returned as is).
function E:new_err_t(code, message, fields, name)
  if type(message) == "table" and getmetatable(message) == ERR_MT then return message end
  if NAMES[code] == nil then error("unknown error code: " .. tostring(code), 2) end
  if message ~= nil and type(message) ~= "string" then error("message must be a string or nil", 2) end
  local e = { code = code, name = name or NAMES[code], message = message or null, strategy = self.strategy }
  if fields ~= nil then
    local copy = {}
    for k, v in pairs(fields) do copy[k] = v end
    if code == CODES.INVALID_OPTIONS then e.options = copy else e.fields = copy end
  end
  return setmetatable(e, ERR_MT)
end

local function need(v, kind, what)
  if type(v) ~= kind then error(what .. " must be a " .. kind, 3) end
end

local function keyed(code, text, what)
  return function(self, key)
    need(key, "table", what)
    return self:new_err_t(code, fmt(text, pretty(key)), key)
  end
end

E.invalid_primary_key = keyed(CODES.INVALID_PRIMARY_KEY, "invalid primary key: '%s'", "primary_key")
E.invalid_foreign_key = keyed(CODES.INVALID_FOREIGN_KEY, "invalid foreign key: '%s'", "foreign_key")
E.primary_key_violation = keyed(CODES.PRIMARY_KEY_VIOLATION, "primary key violation on key '%s'", "primary_key")
E.not_found = keyed(CODES.NOT_FOUND, "could not find the entity with primary key '%s'", "primary_key")
E.not_found_by_field = keyed(CODES.NOT_FOUND, "could not find the entity with '%s'", "filter")

function E:unique_violation(key)
  need(key, "table", "unique_key")
  local text = pretty(key):gsub('"userdata: NULL"', "null")
  return self:new_err_t(CODES.UNIQUE_VIOLATION, fmt("UNIQUE violation detected on '%s'", text), key)
end

-- "schema violation (a: x)" or "2 schema violations (a: x; b.c: y)"; `singular`/`plural`
-- name the kind (options use the same layout)
local function violations(errors, singular, plural)
  local buf = {}
  for _, m in ipairs(errors["@entity"] or {}) do buf[#buf + 1] = m end
  for _, name in ipairs(sorted_keys(errors)) do
    local v = errors[name]
    if name == "@entity" then -- listed first
    elseif type(v) == "table" then
      for _, sub in ipairs(sorted_keys(v)) do
        local x = v[sub]
        buf[#buf + 1] = fmt("%s.%s: %s", name, sub, type(x) == "table" and pretty(x) or tostring(x))
      end
    else
      buf[#buf + 1] = fmt("%s: %s", name, tostring(v))
    end
  end
  if #buf == 1 then return fmt("%s (%s)", singular, buf[1]) end
  return fmt("%d %s (%s)", #buf, plural, concat(buf, "; "))
end

function E:schema_violation(errors)
  need(errors, "table", "errors")
  return self:new_err_t(CODES.SCHEMA_VIOLATION, violations(errors, "schema violation", "schema violations"), errors)
end

function E:invalid_options(errors)
  need(errors, "table", "errors")
  return self:new_err_t(CODES.INVALID_OPTIONS, violations(errors, "invalid option", "option violations"), errors)
end

function E:invalid_offset(offset, err)
  need(offset, "string", "offset")
  need(err, "string", "err")
  return self:new_err_t(CODES.INVALID_OFFSET, fmt("'%s' is not a valid offset: %s", offset, err))
end

function E:invalid_unique(name, err)
  need(err, "string", "err")
  return self:new_err_t(CODES.INVALID_UNIQUE, err, nil, fmt(NAMES[CODES.INVALID_UNIQUE], name))
end

local function message_only(code, checked)
  return function(self, err)
    if checked then need(err, "string", "err") end
    return self:new_err_t(code, err or NAMES[code])
  end
end

E.invalid_size = message_only(CODES.INVALID_SIZE, true)
E.operation_unsupported = message_only(CODES.OPERATION_UNSUPPORTED, true)
E.database_error = message_only(CODES.DATABASE_ERROR)
E.transformation_error = message_only(CODES.TRANSFORMATION_ERROR)

-- any other code by its lower-case name: `errors:foreign_keys_unresolved()` (as Kong)
setmetatable(E, { __index = function(t, k)
  local code = type(k) == "string" and CODES[upper(k)]
  if not code then return nil end
  local f = function(self) return self:new_err_t(code) end
  t[k] = f
  return f
end })

local UUID = "^%x%x%x%x%x%x%x%x%-%x%x%x%x%-%x%x%x%x%-%x%x%x%x%-%x%x%x%x%x%x%x%x%x%x%x%x$"

--- Kong's field validation for key values: nil, a message, or (foreign) {id = message}.
function E.validate_field(f, v)
  local t = f.type
  if t == "foreign" then
    if type(v) ~= "table" then return "expected a record" end
    local id = v.id
    if not id then return { id = E.MISSING_PK } end
    if type(id) ~= "string" then return { id = "expected a string" } end
    if not id:find(UUID) then return { id = "expected a valid UUID" } end
  elseif t == "string" then
    if type(v) ~= "string" then return "expected a string" end
    local len_min = f.len_min or 1
    if #v < len_min then return "length must be at least " .. len_min end
    if f.uuid and not v:find(UUID) then return "expected a valid UUID" end
  elseif t == "integer" then
    if type(v) ~= "number" or floor(v) ~= v then return "expected an integer" end
  elseif t == "number" then
    if type(v) ~= "number" then return "expected a number" end
  elseif t == "boolean" then
    if type(v) ~= "boolean" then return "expected a boolean" end
  end
end

local TABLE_TYPES = { array = true, set = true, map = true, record = true, foreign = true }

--- A select_by_<field> value of the wrong Lua type raises, as in Kong.
function E.check_unique_type(v, name, f, level)
  local t = f.type
  if type(v) ~= "table" and TABLE_TYPES[t] then error(fmt("%s must be a table", name), level + 1) end
  if type(v) ~= "string" and t == "string" then error(fmt("%s must be a string", name), level + 1) end
  if type(v) ~= "number" and (t == "number" or t == "integer") then
    error(fmt("%s must be a number", name), level + 1)
  end
  if type(v) ~= "boolean" and t == "boolean" then error(fmt("%s must be a boolean", name), level + 1) end
end

--- A new errors object (the shared one is strategy "off").
function E.new(strategy)
  return setmetatable({ strategy = strategy }, E_MT)
end

return E.new("off")

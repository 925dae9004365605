-- inspect: human-readable representations of Lua values, with the API of kikito's
-- inspect.lua (3.1) that plugins require for debug logging:
--   inspect(value, options) / inspect.inspect(value, options) -> string
--   options.depth (levels shown; deeper tables print as {...}), options.newline
--   ("\n"), options.indent ("  "), options.process(item, path) (returns the item to
--   show in its place, or nil to leave it out; path ends with inspect.KEY for a key and
--   inspect.METATABLE for a metatable).
-- The format: the array part on the opening line, then one `key = value` per line,
-- keys sorted (numbers, booleans, strings, then others), identifiers bare, other keys
-- in brackets, strings quoted and escaped, `<metatable> = {...}` last; a table seen
-- twice gets an id (`<1>{...}`) and later mentions print as `<table 1>`, functions and
-- userdata as `<function 1>`, `<userdata 1>`.
local type, tostring, pairs, ipairs, rawget = type, tostring, pairs, ipairs, rawget
local getmetatable, setmetatable, select = getmetatable, setmetatable, select
local format, gsub, match, find = string.format, string.gsub, string.match, string.find
local rep, byte = string.rep, string.byte
local concat, sort, huge = table.concat, table.sort, math.huge

local inspect = {
  _VERSION = "inspect.lua 3.1.0 (Moongate)",
  _DESCRIPTION = "human-readable representations of tables",
}

inspect.KEY = setmetatable({}, { __tostring = function() return "inspect.KEY" end })
inspect.METATABLE = setmetatable({}, { __tostring = function() return "inspect.METATABLE" end })

local SHORT_ESCAPES = { ["\a"] = "\\a", ["\b"] = "\\b", ["\f"] = "\\f", ["\n"] = "\\n",
  ["\r"] = "\\r", ["\t"] = "\\t", ["\v"] = "\\v", ["\\"] = "\\\\" }

local function quote(s)
  -- double quotes, escaped, unless the string has some and no single ones
  local q = '"'
  if find(s, '"', 1, true) and not find(s, "'", 1, true) then q = "'" end
  local body = gsub(s, "([%c\\])(%d?)", function(c, digit)
    local short = SHORT_ESCAPES[c]
    if short then return short .. digit end
    if digit ~= "" then return format("\\%03d", byte(c)) .. digit end -- keep it unambiguous
    return "\\" .. byte(c)
  end)
  if q == '"' then body = gsub(body, '"', '\\"') end
  return q .. body .. q
end

local function is_identifier(k)
  return type(k) == "string" and match(k, "^[_%a][_%w]*$") ~= nil
end

local TYPE_ORDER = { number = 1, boolean = 2, string = 3, table = 4, ["function"] = 5,
  userdata = 6, thread = 7 }

local function key_before(a, b)
  local ta, tb = type(a), type(b)
  if ta == tb and (ta == "string" or ta == "number") then return a < b end
  local oa, ob = TYPE_ORDER[ta] or 8, TYPE_ORDER[tb] or 8
  if oa == ob then return tostring(a) < tostring(b) end -- same type: a stable order
  return oa < ob
end

local function sequence_length(t)
  local n = 1
  while rawget(t, n) ~= nil do n = n + 1 end
  return n - 1
end

local function other_keys(t, seq)
  local keys, n = {}, 0
  for k in pairs(t) do
    if not (type(k) == "number" and k >= 1 and k <= seq and k % 1 == 0) then
      n = n + 1
      keys[n] = k
    end
  end
  sort(keys, key_before)
  return keys, n
end

-- `process`: a copy of the value with every item passed through the function
local function copy_path(path, ...)
  local out, n = {}, #path
  for i = 1, n do out[i] = path[i] end
  for i = 1, select("#", ...) do out[n + i] = select(i, ...) end
  return out
end

local function process_value(process, item, path, seen)
  if item == nil then return nil end
  if seen[item] then return seen[item] end
  local processed = process(item, path)
  if type(processed) ~= "table" then return processed end
  local copy = {}
  seen[item] = copy
  for k, v in pairs(processed) do
    local pk = process_value(process, k, copy_path(path, k, inspect.KEY), seen)
    if pk ~= nil then copy[pk] = process_value(process, v, copy_path(path, pk), seen) end
  end
  local mt = process_value(process, getmetatable(processed), copy_path(path, inspect.METATABLE), seen)
  if type(mt) ~= "table" then mt = nil end
  setmetatable(copy, mt)
  return copy
end

-- how many times each table is reached (ids go to tables reached more than once)
local function count_tables(v, counts)
  if type(v) ~= "table" then return end
  local c = counts[v]
  counts[v] = (c or 0) + 1
  if c then return end
  for k, val in pairs(v) do
    count_tables(k, counts)
    count_tables(val, counts)
  end
  count_tables(getmetatable(v), counts)
end

local function render(root, depth, newline, indent)
  local buf, n = {}, 0
  local counts, ids, next_id = {}, {}, {}
  count_tables(root, counts)

  local function put(s) n = n + 1; buf[n] = s end
  local function id_of(v)
    local id = ids[v]
    if id == nil then
      local t = type(v)
      id = (next_id[t] or 0) + 1
      next_id[t] = id
      ids[v] = id
    end
    return id
  end
  local function tab(level) put(newline .. rep(indent, level)) end

  local value
  local function key(k, level)
    if is_identifier(k) then put(k) else put("["); value(k, level); put("]") end
  end

  function value(v, level)
    local t = type(v)
    if t == "string" then put(quote(v))
    elseif t == "number" or t == "boolean" or t == "nil" then put(tostring(v))
    elseif t ~= "table" then put(format("<%s %d>", t, id_of(v)))
    elseif level >= depth then put("{...}")
    elseif ids[v] ~= nil and counts[v] > 1 and ids[v] < 0 then put(format("<table %d>", -ids[v]))
    else
      if counts[v] > 1 then
        local id = id_of(v)
        ids[v] = -id -- negative: already printed once
        put(format("<%d>", id))
      end
      local seq = sequence_length(v)
      local keys, nkeys = other_keys(v, seq)
      local mt = getmetatable(v)
      if type(mt) ~= "table" then mt = nil end
      put("{")
      local count = 0
      for i = 1, seq do
        if count > 0 then put(",") end
        put(" ")
        value(v[i], level + 1)
        count = count + 1
      end
      for i = 1, nkeys do
        local k = keys[i]
        if count > 0 then put(",") end
        tab(level + 1)
        key(k, level + 1)
        put(" = ")
        value(v[k], level + 1)
        count = count + 1
      end
      if mt then
        if count > 0 then put(",") end
        tab(level + 1)
        put("<metatable> = ")
        value(mt, level + 1)
      end
      if nkeys > 0 or mt then tab(level)
      elseif seq > 0 then put(" ") end
      put("}")
    end
  end

  value(root, 0)
  return concat(buf, "", 1, n)
end

function inspect.inspect(root, options)
  options = options or {}
  local depth = options.depth or huge
  local newline = options.newline or "\n"
  local indent = options.indent or "  "
  if options.process then
    root = process_value(options.process, root, {}, {})
  end
  return render(root, depth, newline, indent)
end

setmetatable(inspect, { __call = function(_, root, options) return inspect.inspect(root, options) end })

return inspect

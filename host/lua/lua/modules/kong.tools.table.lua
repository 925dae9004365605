-- `kong.tools.table`: Kong's table helpers (kong/tools/table.lua): the shared
-- read-only EMPTY table, pack/unpack, merges, deep and cycle-aware copies,
-- membership, array checks, error lists and path lookup.  Pure Lua.
local _, H = ...
local type, pairs, ipairs, next, select, tostring, error = type, pairs, ipairs, next, select, tostring, error
local setmetatable, getmetatable, unpack = setmetatable, getmetatable, unpack
local insert, floor, max = table.insert, math.floor, math.max

local clone = H.require("table.clone")
local is_array_fast = H.require("table.isarray")

local _M = {}

--- A read-only empty table (writing to it raises "Attempt to modify read-only table").
_M.EMPTY = setmetatable({}, {
  __index = {},
  __newindex = function() error("Attempt to modify read-only table", 2) end,
  __metatable = false,
})

--- `{n = select("#", ...), ...}`: nil-safe packing.
function _M.pack(...)
  return { n = select("#", ...), ... }
end

--- unpack honouring `t.n`.
function _M.unpack(t, i, j)
  return unpack(t, i or 1, j or t.n or #t)
end

--- A new table with the keys of t1 then t2 (t2 wins); either may be nil.
function _M.table_merge(t1, t2)
  local res = {}
  if t1 then for k, v in pairs(t1) do res[k] = v end end
  if t2 then for k, v in pairs(t2) do res[k] = v end end
  return res
end

--- Like table_merge, but an ngx.null in t2 does not replace a value of t1.
function _M.null_aware_table_merge(t1, t2)
  local null = H.null
  local res = {}
  if t1 then for k, v in pairs(t1) do res[k] = v end end
  if t2 then
    for k, v in pairs(t2) do
      if res[k] == nil or v ~= null then res[k] = v end
    end
  end
  return res
end

--- Whether any value of `arr` equals `val`.
function _M.table_contains(arr, val)
  if arr then
    for _, v in pairs(arr) do
      if v == val then return true end
    end
  end
  return false
end

local function is_array_strict(t)
  local m, c = 0, 0
  for k in pairs(t) do
    if type(k) ~= "number" or k < 1 or floor(k) ~= k then return false end
    m = max(m, k)
    c = c + 1
  end
  return c == m
end

local function is_array_lapis(t)
  if type(t) ~= "table" then return false end
  local i = 0
  for _ in pairs(t) do
    i = i + 1
    if t[i] == nil and t[tostring(i)] == nil then return false end
  end
  return true
end

--- Whether `t` is an array: mode "strict" (default: keys 1..n, no holes),
--- "fast" (table.isarray: integral keys) or "lapis" (numeric string keys allowed).
function _M.is_array(t, mode)
  if type(t) ~= "table" then return false end
  if mode == "lapis" then return is_array_lapis(t) end
  if mode == "fast" then return is_array_fast(t) end
  return is_array_strict(t)
end
_M.is_lapis_array = is_array_lapis

--- A deep copy; keys and metatables are copied too (metatables unless copy_mt is false).
function _M.deep_copy(orig, copy_mt)
  if copy_mt == nil then copy_mt = true end
  if type(orig) ~= "table" then return orig end
  local copy = {}
  for k, v in next, orig, nil do
    copy[_M.deep_copy(k)] = _M.deep_copy(v, copy_mt)
  end
  if copy_mt then
    setmetatable(copy, _M.deep_copy(getmetatable(orig)))
  end
  return copy
end

--- A copy of the table's first level (no metatable); other values are returned as is.
function _M.shallow_copy(orig)
  if type(orig) == "table" then return clone(orig) end
  return orig
end

--- A deep copy of t1 with t2 merged in recursively (t2 wins).
function _M.deep_merge(t1, t2)
  local res = _M.deep_copy(t1)
  for k, v in pairs(t2) do
    if type(v) == "table" and type(res[k]) == "table" then
      res[k] = _M.deep_merge(res[k], v)
    else
      res[k] = _M.deep_copy(v)
    end
  end
  return res
end

--- A deep copy that copies each table once (shared and cyclic references are kept
--- as such); metatables are kept unless remove_metatables; keys are copied only
--- with deep_copy_keys.
function _M.cycle_aware_deep_copy(orig, remove_metatables, deep_copy_keys, cache)
  if type(orig) ~= "table" then return orig end
  cache = cache or {}
  if cache[orig] then return cache[orig] end
  local copy = clone(orig)
  cache[orig] = copy
  for k, v in pairs(orig) do
    if type(v) == "table" then
      copy[k] = _M.cycle_aware_deep_copy(v, remove_metatables, deep_copy_keys, cache)
    end
    if deep_copy_keys and type(k) == "table" then
      local new_k = _M.cycle_aware_deep_copy(k, remove_metatables, deep_copy_keys, cache)
      copy[new_k] = copy[k]
      copy[k] = nil
    end
  end
  if not remove_metatables then
    local mt = getmetatable(orig)
    if mt then setmetatable(copy, mt) end
  end
  return copy
end

--- cycle_aware_deep_copy(t1) with t2 merged in recursively (t2 wins).
function _M.cycle_aware_deep_merge(t1, t2, remove_metatables, deep_copy_keys, cache)
  cache = cache or {}
  local merged = _M.cycle_aware_deep_copy(t1, remove_metatables, deep_copy_keys, cache)
  for k, v in pairs(t2) do
    if type(v) == "table" then
      if type(merged[k]) == "table" then
        merged[k] = _M.cycle_aware_deep_merge(merged[k], v, remove_metatables, deep_copy_keys, cache)
      else
        merged[k] = _M.cycle_aware_deep_copy(v, remove_metatables, deep_copy_keys, cache)
      end
    else
      merged[k] = v
    end
  end
  return merged
end

--- The arrays given, concatenated into a new one.
function _M.concat(...)
  local result = {}
  for _, t in ipairs({ ... }) do
    for _, v in ipairs(t) do insert(result, v) end
  end
  return result
end

local err_list_mt = {}

--- Record error `v` under key `k`; a second error for a key turns it into a list.
function _M.add_error(errors, k, v)
  errors = errors or {}
  if errors[k] then
    if getmetatable(errors[k]) ~= err_list_mt then
      errors[k] = setmetatable({ errors[k] }, err_list_mt)
    end
    insert(errors[k], v)
  else
    errors[k] = v
  end
  return errors
end

--- t[path[1]][path[2]]... or nil when a step is missing.
function _M.table_path(t, path)
  local current = t
  for _, key in ipairs(path) do
    if current[key] == nil then return nil end
    current = current[key]
  end
  return current
end

return _M

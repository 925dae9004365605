-- pl.tablex (Penlight): table functions.
--   size keys values copy deepcopy deepcompare compare update merge union intersection
--   difference find rfind index_by index_map makeset count_map map imap pairmap filter reduce
--   foreach clear range readonly sort sortv
-- Same results as Penlight's; lists are plain tables (Penlight returns pl.List objects).
local type, pairs, ipairs, error, setmetatable, getmetatable =
  type, pairs, ipairs, error, setmetatable, getmetatable
local abs, sort, format = math.abs, table.sort, string.format

local tablex = {}

local function assert_table(n, t)
  if type(t) ~= "table" then
    error(format("argument %d expected a 'table', got a '%s'", n, type(t)), 3)
  end
end

function tablex.size(t)
  assert_table(1, t)
  local n = 0
  for _ in pairs(t) do n = n + 1 end
  return n
end

function tablex.keys(t)
  assert_table(1, t)
  local res, n = {}, 0
  for k in pairs(t) do n = n + 1; res[n] = k end
  return res
end

function tablex.values(t)
  assert_table(1, t)
  local res, n = {}, 0
  for _, v in pairs(t) do n = n + 1; res[n] = v end
  return res
end

function tablex.copy(t)
  assert_table(1, t)
  local res = {}
  for k, v in pairs(t) do res[k] = v end
  return res
end

local function deepcopy(t, seen)
  if type(t) ~= "table" then return t end
  local done = seen[t]
  if done then return done end
  local res = {}
  seen[t] = res
  for k, v in pairs(t) do res[deepcopy(k, seen)] = deepcopy(v, seen) end
  local mt = getmetatable(t)
  if mt then setmetatable(res, mt) end
  return res
end

--- A copy of `t` and every table in it (cycles and shared tables kept; metatables shared).
function tablex.deepcopy(t)
  return deepcopy(t, {})
end

local function deepcompare(a, b, ignore_mt, eps)
  local ta, tb = type(a), type(b)
  if ta ~= tb then return false end
  if ta ~= "table" then
    if ta == "number" and eps then return abs(a - b) < eps end
    return a == b
  end
  if not ignore_mt then
    local mt = getmetatable(a)
    if mt and mt.__eq then return a == b end
  end
  for k, v in pairs(a) do
    local w = b[k]
    if w == nil or not deepcompare(v, w, ignore_mt, eps) then return false end
  end
  for k in pairs(b) do
    if a[k] == nil then return false end
  end
  return true
end

function tablex.deepcompare(t1, t2, ignore_mt, eps)
  return deepcompare(t1, t2, ignore_mt, eps)
end

--- Whether two arrays have equal elements (`cmp(a, b)`, default ==).
function tablex.compare(t1, t2, cmp)
  assert_table(1, t1)
  assert_table(2, t2)
  if #t1 ~= #t2 then return false end
  for i = 1, #t1 do
    if cmp then
      if not cmp(t1[i], t2[i]) then return false end
    elseif t1[i] ~= t2[i] then
      return false
    end
  end
  return true
end

function tablex.update(t1, t2)
  assert_table(1, t1)
  assert_table(2, t2)
  for k, v in pairs(t2) do t1[k] = v end
  return t1
end

--- The keys of both tables (`dup`, values of t2 win) or only those in both (t1's values).
function tablex.merge(t1, t2, dup)
  assert_table(1, t1)
  assert_table(2, t2)
  local res = {}
  for k, v in pairs(t1) do
    if dup or t2[k] then res[k] = v end
  end
  if dup then
    for k, v in pairs(t2) do res[k] = v end
  end
  return res
end

function tablex.union(t1, t2) return tablex.merge(t1, t2, true) end
function tablex.intersection(t1, t2) return tablex.merge(t1, t2, false) end

--- The keys of s1 not in s2 (and, with `symm`, of s2 not in s1).
function tablex.difference(s1, s2, symm)
  assert_table(1, s1)
  assert_table(2, s2)
  local res = {}
  for k, v in pairs(s1) do
    if s2[k] == nil then res[k] = v end
  end
  if symm then
    for k, v in pairs(s2) do
      if s1[k] == nil then res[k] = v end
    end
  end
  return res
end

--- The first index of `val` in array `t` from `idx` (negative: from the end).
function tablex.find(t, val, idx)
  assert_table(1, t)
  idx = idx or 1
  if idx < 0 then idx = #t + idx + 1 end
  for i = idx, #t do
    if t[i] == val then return i end
  end
  return nil
end

function tablex.rfind(t, val, idx)
  assert_table(1, t)
  idx = idx or #t
  if idx < 0 then idx = #t + idx + 1 end
  for i = idx, 1, -1 do
    if t[i] == val then return i end
  end
  return nil
end

function tablex.index_by(tbl, idx)
  local res = {}
  for i = 1, #idx do res[i] = tbl[idx[i]] end
  return res
end

--- A table of `fun(k, v, ...)` over `t`: a second result is the new key (values of a
-- repeated key are gathered in a list), otherwise the value is appended.
function tablex.pairmap(fun, t, ...)
  assert_table(2, t)
  local res = {}
  for k, v in pairs(t) do
    local rv, rk = fun(k, v, ...)
    if rk then
      local prev = res[rk]
      if prev == nil then
        res[rk] = rv
      elseif type(prev) == "table" then
        prev[#prev + 1] = rv
      else
        res[rk] = { prev, rv }
      end
    else
      res[#res + 1] = rv
    end
  end
  return res
end

--- value -> index in `t` (indexes of a repeated value gathered in a list)
function tablex.index_map(t)
  assert_table(1, t)
  return tablex.pairmap(function(i, v) return i, v end, t)
end

--- value -> true for each value of `t`
function tablex.makeset(t)
  assert_table(1, t)
  return tablex.pairmap(function(_, v) return true, v end, t)
end

--- value -> number of times it appears in array `t` (`cmp(a, b)` to group values).
function tablex.count_map(t, cmp)
  assert_table(1, t)
  local res, mask = {}, {}
  for i = 1, #t do
    local v = t[i]
    if not mask[v] then
      mask[v] = true
      local n = 1
      for j = i + 1, #t do
        local w = t[j]
        if (cmp and cmp(v, w)) or (not cmp and v == w) then
          n = n + 1
          mask[w] = true
        end
      end
      res[v] = n
    end
  end
  return res
end

function tablex.map(fun, t, ...)
  assert_table(2, t)
  local res = {}
  for k, v in pairs(t) do res[k] = fun(v, ...) end
  return setmetatable(res, getmetatable(t))
end

function tablex.imap(fun, t, ...)
  assert_table(2, t)
  local res = {}
  for i = 1, #t do res[i] = fun(t[i], ...) or false end
  return res
end

function tablex.filter(t, pred, arg)
  assert_table(1, t)
  local res, n = {}, 0
  for i = 1, #t do
    local v = t[i]
    if pred(v, arg) then n = n + 1; res[n] = v end
  end
  return res
end

function tablex.reduce(fun, t, memo)
  assert_table(2, t)
  local n = #t
  if n == 0 then return memo end
  local res = memo and fun(memo, t[1]) or t[1]
  for i = 2, n do res = fun(res, t[i]) end
  return res
end

function tablex.foreach(t, fun, ...)
  assert_table(1, t)
  for k, v in pairs(t) do fun(v, k, ...) end
end

function tablex.clear(t, istart)
  istart = istart or 1
  for i = istart, #t do t[i] = nil end
end

--- start, start + step, ... finish (step 1 by default; empty when it goes the wrong way).
function tablex.range(start, finish, step)
  step = step or 1
  if start == finish then return { start } end
  local res, n = {}, 0
  if (start > finish and step > 0) or (finish > start and step < 0) then return res end
  for i = start, finish, step do n = n + 1; res[n] = i end
  return res
end

--- A read-only view of `t`: writes raise "Attempt to modify read-only table".
function tablex.readonly(t)
  local mt = {
    __index = t,
    __newindex = function() error("Attempt to modify read-only table", 2) end,
    __pairs = function() return pairs(t) end,
    __ipairs = function() return ipairs(t) end,
    __len = function() return #t end,
    __metatable = false,
  }
  return setmetatable({}, mt)
end

local function sorted_pairs(t, keys, cmp)
  sort(keys, cmp)
  local i = 0
  return function()
    i = i + 1
    local k = keys[i]
    if k ~= nil then return k, t[k] end
  end
end

--- Iterate over `t` by sorted key.
function tablex.sort(t, f)
  return sorted_pairs(t, tablex.keys(t), f)
end

--- Iterate over `t` by sorted value.
function tablex.sortv(t, f)
  f = f or function(a, b) return a < b end
  local keys = tablex.keys(t)
  sort(keys, function(x, y) return f(t[x], t[y]) end)
  local i = 0
  return function()
    i = i + 1
    local k = keys[i]
    if k ~= nil then return k, t[k] end
  end
end

return tablex

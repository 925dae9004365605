-- pl.utils (Penlight), the functions plugins use: pack, unpack, escape, split, splitv,
-- assert_arg, assert_string, is_type, is_callable, choose, array_tostring, memoize,
-- bind1, bind2.  Same semantics as Penlight's; the file and process helpers (readfile,
-- writefile, executeex, quit, printf, ...) are not provided: plugins have no file system.
local type, select, error, tostring, getmetatable, unpack =
  type, select, error, tostring, getmetatable, unpack
local format, find, sub, gsub = string.format, string.find, string.sub, string.gsub

local utils = { _VERSION = "1.14.0" }

function utils.pack(...)
  return { n = select("#", ...), ... }
end

function utils.unpack(t, i, j)
  return unpack(t, i or 1, j or t.n or #t)
end

--- `s` with Lua pattern magic characters escaped.
function utils.escape(s)
  utils.assert_string(1, s)
  return (gsub(s, "[%-%.%+%[%]%(%)%$%^%%%?%*]", "%%%0"))
end

function utils.assert_arg(n, val, tp, verify, msg, lev)
  if type(val) ~= tp then
    error(format("argument %d expected a '%s', got a '%s'", n, tp, type(val)), lev or 2)
  end
  if verify and not verify(val) then
    error(format("argument %d: '%s' %s", n, tostring(val), msg), lev or 2)
  end
  return val
end

function utils.assert_string(n, val)
  return utils.assert_arg(n, val, "string", nil, nil, 3)
end

--- Split `s` on the pattern `re` (default whitespace; `plain` for a plain string),
-- at most `n` pieces (the last one holds the rest).  A trailing empty piece is dropped.
function utils.split(s, re, plain, n)
  utils.assert_string(1, s)
  re = re or "%s+"
  if re == "" then return { s } end
  local pieces, count, pos = {}, 0, 1
  while true do
    local first, last = find(s, re, pos, plain)
    if not first then
      local tail = sub(s, pos)
      if tail ~= "" then count = count + 1; pieces[count] = tail end
      if count == 1 and pieces[1] == "" then return {} end
      return pieces
    end
    count = count + 1
    pieces[count] = sub(s, pos, first - 1)
    if n and count == n then
      pieces[count] = sub(s, pos)
      return pieces
    end
    pos = last + 1
  end
end

function utils.splitv(s, re, plain, n)
  return unpack(utils.split(s, re, plain, n))
end

--- `type(obj) == tp` for a type name, else whether `obj`'s metatable is `tp`.
function utils.is_type(obj, tp)
  if type(tp) == "string" then return type(obj) == tp end
  return tp == getmetatable(obj)
end

function utils.is_callable(obj)
  if type(obj) == "function" then return true end
  local mt = type(obj) == "table" and getmetatable(obj)
  return (mt and mt.__call ~= nil) or false
end

function utils.choose(cond, value1, value2)
  if cond then return value1 end
  return value2
end

function utils.array_tostring(t, temp, tostr)
  temp, tostr = temp or {}, tostr or tostring
  for i = 1, #t do temp[i] = tostr(t[i], i) end
  return temp
end

--- `func` with its results cached by its (first) argument.
function utils.memoize(func)
  local cache = {}
  return function(k)
    local res = cache[k]
    if res == nil then
      res = func(k)
      cache[k] = res
    end
    return res
  end
end

function utils.bind1(fn, p)
  return function(...) return fn(p, ...) end
end

function utils.bind2(fn, p)
  return function(x, ...) return fn(x, p, ...) end
end

return utils

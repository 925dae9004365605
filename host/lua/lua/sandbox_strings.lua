-- The string and table limits of a sandboxed runtime (loaded by sandbox.lua).
--
-- string.rep refuses results over max_rep bytes; string.gsub with a function or table
-- replacement counts how deeply its callbacks nest (recursion through a C function
-- grows the C stack until the process crashes); find/match/gmatch/gsub estimate the
-- worst-case work of a pattern on the subject and hand the expensive calls to the Lua
-- matcher (lpattern.lua), where the CPU budget's hook sees every step; the C functions
-- whose work grows with their input check the clock before a big call.  The limited
-- functions replace the runtime's own string table's (s:gsub() reaches it through the
-- string metatable) and go into sandboxed environments (returned, by name).
local H, S, limits, lp = ...

local error, type, tostring, tonumber, pcall, unpack = error, type, tostring, tonumber, pcall, unpack
local c_find, c_match, c_gmatch, c_gsub, c_rep = string.find, string.match, string.gmatch, string.gsub, string.rep
local byte, sub, format = string.byte, string.sub, string.format
local MAX_REP, MAX_DEPTH, MAX_WORK = limits.max_rep, limits.max_depth, limits.max_work
local LIMIT = S.LIMIT

-- the C functions whose work grows with their input look at the clock before a call on
-- a big input (sandbox.lua, S.checkpoint); a length test otherwise
local BIG = 4096
local checkpoint = S.checkpoint

local function s_rep(s, n, sep)
  if type(n) == "number" and n > 1 and (type(s) == "string" or type(s) == "number") then
    local size = #tostring(s) * n
    if type(sep) == "string" then size = size + #sep * (n - 1) end
    if size > MAX_REP then
      error(format("%sstring.rep result of %.0f bytes is over the limit of %d", LIMIT, size, MAX_REP), 2)
    end
    if size > BIG then checkpoint() end
  end
  return c_rep(s, n, sep)
end

-- a C function whose work grows with its first argument (a string or a table)
local function sized(fn)
  return function(x, ...)
    local kind = type(x)
    if (kind == "string" or kind == "table") and #x > BIG then checkpoint() end
    return fn(x, ...)
  end
end
local s_upper, s_lower, s_reverse = sized(string.upper), sized(string.lower), sized(string.reverse)
local s_format, t_sort, t_concat = sized(string.format), sized(table.sort), sized(table.concat)
local s_unpack = sized(unpack)

local SPECIALS = lp.SPECIALS
local QUANT = { [42] = true, [43] = true, [45] = true } -- * + -

-- the index after the single-character class at p[i] (nil when malformed)
local function class_end(p, i)
  local c = byte(p, i)
  if c == 37 then return i + 2 end
  if c ~= 91 then return i + 1 end
  local j = i + 1
  if byte(p, j) == 94 then j = j + 1 end
  repeat
    if j > #p then return nil end
    local cc = byte(p, j)
    j = j + 1
    if cc == 37 then j = j + 1 end
  until byte(p, j) == 93
  return j + 1
end

-- the length of the longest run of characters of class `cls` in s[init..]
local function longest_run(s, cls, init)
  local best, pos, pattern = 0, init, cls .. "+"
  while true do
    local a, b = c_find(s, pattern, pos)
    if not a then return best end
    if b - a + 1 > best then best = b - a + 1 end
    pos = b + 1
  end
end

-- The shape of a pattern, as far as its worst-case work goes (computed once per
-- pattern): whether it starts with ^, the multipliers of its items.  Each quantified
-- single-character class followed by more pattern (which may fail and make it
-- backtrack) multiplies the work by the longest run of its class in the subject (+1);
-- `?` by 2; %b by the subject's length.  k such quantifiers split one stretch of
-- subject k ways, hence a division by k!.  nil for a pattern with no special
-- character or a malformed one (C searches it, or reports the error).
local SHAPES, NSHAPES = {}, 0

local function shape_of(p)
  local shape = SHAPES[p]
  if shape ~= nil then return shape end
  if not c_find(p, SPECIALS) then shape = false else shape = { classes = {}, fixed = 1 } end
  local plen, i = #p, 1
  if shape and byte(p, 1) == 94 then shape.anchored, i = true, 2 end
  while shape and i <= plen do
    local c = byte(p, i)
    if c == 40 or c == 41 then -- ( )
      i = i + 1
    elseif c == 37 and byte(p, i + 1) == 98 then -- %bxy
      shape.balance = (shape.balance or 0) + 1
      i = i + 4
    elseif c == 37 and byte(p, i + 1) == 102 then -- %f[set]: one test
      local ep = byte(p, i + 2) == 91 and class_end(p, i + 2)
      if ep then i = ep else shape = false end
    elseif c == 37 and (byte(p, i + 1) or 0) >= 48 and (byte(p, i + 1) or 0) <= 57 then
      i = i + 2
    else
      local ep = class_end(p, i)
      local q = ep and byte(p, ep)
      if not ep then
        shape = false
      elseif q == 63 then -- ?
        shape.fixed, i = shape.fixed * 2, ep + 1
      elseif QUANT[q] then
        if c_find(p, "[^)]", ep + 1) then
          shape.classes[#shape.classes + 1] = sub(p, i, ep - 1)
        end
        i = ep + 1
      else
        i = ep
      end
    end
  end
  if NSHAPES >= 1000 then SHAPES, NSHAPES = {}, 0 end
  SHAPES[p], NSHAPES = shape, NSHAPES + 1
  return shape
end

-- Whether matching p against s from init could take more than MAX_WORK steps.
local function expensive(s, p, init, can_anchor)
  local shape = shape_of(p)
  if not shape then return false end
  local n = #s - init + 1
  local work = shape.fixed
  if not (can_anchor and shape.anchored) then work = work * (n + 1) end
  for _ = 1, shape.balance or 0 do work = work * (n + 1) end
  local base, classes = work, shape.classes
  for k = 1, #classes do -- first with every run as long as the subject: cheap
    work = work * (n + 1) / k
    if work > MAX_WORK then break end
  end
  if work <= MAX_WORK then return false end
  work = base
  for k = 1, #classes do -- then with the runs the subject really has
    work = work * (longest_run(s, classes[k], init) + 1) / k
    if work > MAX_WORK then return true end
  end
  return work > MAX_WORK
end

--- Which matcher a call would use ("lua" or "c"): for tests and curious operators.
function H.sandbox_pattern_route(s, p, init, can_anchor)
  return expensive(s, p, init, can_anchor) and "lua" or "c"
end

local function start_of(init, len)
  init = tonumber(init) or 1
  if init < 0 then init = len + init + 1 end
  if init < 1 then init = 1 end
  return init
end

local function s_find(s, p, init, plain)
  if type(s) == "string" and #s > BIG then checkpoint() end
  if plain or type(s) ~= "string" or type(p) ~= "string" then return c_find(s, p, init, plain) end
  local i = start_of(init, #s)
  if i <= #s + 1 and expensive(s, p, i, true) then return lp.find(s, p, i) end
  return c_find(s, p, init)
end

local function s_match(s, p, init)
  if type(s) == "string" and #s > BIG then checkpoint() end
  if type(s) ~= "string" or type(p) ~= "string" then return c_match(s, p, init) end
  local i = start_of(init, #s)
  if i <= #s + 1 and expensive(s, p, i, true) then return lp.match(s, p, i) end
  return c_match(s, p, init)
end

local function s_gmatch(s, p)
  if type(s) == "string" and type(p) == "string" and expensive(s, p, 1, false) then
    return lp.gmatch(s, p)
  end
  return c_gmatch(s, p)
end

local function left_gsub(ok, a, b)
  S.gsub_depth = S.gsub_depth - 1
  if S.killed() then error(S.KILL, 0) end
  if not ok then error(a, 0) end
  return a, b
end

local function s_gsub(s, p, repl, n)
  if type(s) == "string" and #s > BIG then checkpoint() end
  local impl = c_gsub
  if type(s) == "string" and type(p) == "string" and expensive(s, p, 1, true) then impl = lp.gsub end
  local kind = type(repl)
  if kind ~= "function" and kind ~= "table" then return impl(s, p, repl, n) end
  if S.gsub_depth >= MAX_DEPTH then
    error(LIMIT .. "string.gsub callbacks nested more than " .. MAX_DEPTH .. " deep", 2)
  end
  S.gsub_depth = S.gsub_depth + 1
  return left_gsub(pcall(impl, s, p, repl, n))
end

-- the real string table too: s:rep(), s:gsub() ... reach it through the string metatable
string.rep, string.find, string.match, string.gmatch, string.gsub = s_rep, s_find, s_match, s_gmatch, s_gsub
string.upper, string.lower, string.reverse, string.format = s_upper, s_lower, s_reverse, s_format

return {
  ["string.rep"] = s_rep, ["string.find"] = s_find, ["string.match"] = s_match,
  ["string.gmatch"] = s_gmatch, ["string.gsub"] = s_gsub, ["string.upper"] = s_upper,
  ["string.lower"] = s_lower, ["string.reverse"] = s_reverse, ["string.format"] = s_format,
  ["table.sort"] = t_sort, ["table.concat"] = t_concat, unpack = s_unpack,
}

-- Lua string patterns (find, match, gmatch, gsub) written in Lua, for the sandbox.
--
-- LuaJIT's own pattern functions are C code: once called, nothing can interrupt them,
-- and a pattern such as '.-.-.-b' on a long subject runs for hours.  The sandbox
-- (sandbox.lua) estimates the worst-case work of each call and hands the expensive
-- ones to this module instead: the same algorithm (backtracking over pattern items,
-- Lua 5.1 semantics), but in Lua, so the instruction hook of the sandbox sees every
-- step and stops a runaway match at the CPU budget.  It is several times slower than
-- the C matcher, which is why cheap calls still go to C.
--
-- Loaded with the runtime's real globals; returns { find, match, gmatch, gsub }.
local byte, sub, char = string.byte, string.sub, string.char
local c_find, c_format = string.find, string.format
local type, tostring, tonumber, error, concat = type, tostring, tonumber, error, table.concat

local ESC, LBRACKET, RBRACKET, CARET, DOLLAR = 37, 91, 93, 94, 36
local LPAREN, RPAREN, DOT, DASH = 40, 41, 46, 45
local STAR, PLUS, QUESTION = 42, 43, 63
local MAXCAPTURES = 32
local UNFINISHED, POSITION = -1, -2
-- what makes find() match a pattern rather than search a plain string (as in C: no ")" nor "]")
local SPECIALS = "[%^%$%*%+%?%.%(%[%%%-]"

-- character classes, computed once with the C matcher so both agree byte for byte
local CLASS = {}
for _, letter in ipairs({ "a", "c", "d", "l", "p", "s", "u", "w", "x" }) do
  local set, pattern = {}, "^%" .. letter .. "$"
  for b = 0, 255 do set[b] = c_find(char(b), pattern) ~= nil end
  CLASS[byte(letter)] = set
  local neg, upper = {}, byte(letter) - 32
  for b = 0, 255 do neg[b] = not set[b] end
  CLASS[upper] = neg
end
CLASS[byte("z")] = setmetatable({ [0] = true }, { __index = function() return false end })
CLASS[byte("Z")] = setmetatable({ [0] = false }, { __index = function() return true end })

local function class_match(c, letter)
  local set = CLASS[letter]
  if set then return set[c] end
  return c == letter
end

-- the pattern index just after the single-character class that starts at p
local function class_end(ms, p)
  local pat, p_end = ms.pat, ms.p_end
  local c = byte(pat, p)
  p = p + 1
  if c == ESC then
    if p > p_end then error("malformed pattern (ends with '%')", 0) end
    return p + 1
  end
  if c == LBRACKET then
    if byte(pat, p) == CARET then p = p + 1 end
    repeat
      if p > p_end then error("malformed pattern (missing ']')", 0) end
      local cc = byte(pat, p)
      p = p + 1
      if cc == ESC and p <= p_end then p = p + 1 end
    until byte(pat, p) == RBRACKET
    return p + 1
  end
  return p
end

-- does byte c belong to the set [ ... ] between p ('[') and ec (']')?
local function bracket_match(pat, c, p, ec)
  local sig = true
  if byte(pat, p + 1) == CARET then
    sig = false
    p = p + 1
  end
  p = p + 1
  while p < ec do
    local pc = byte(pat, p)
    if pc == ESC then
      p = p + 1
      if class_match(c, byte(pat, p)) then return sig end
    elseif byte(pat, p + 1) == DASH and p + 2 < ec then
      if pc <= c and c <= byte(pat, p + 2) then return sig end
      p = p + 2
    elseif pc == c then
      return sig
    end
    p = p + 1
  end
  return not sig
end

local function single_match(ms, s, p, ep)
  if s > ms.s_end then return false end
  local c, pc = byte(ms.src, s), byte(ms.pat, p)
  if pc == DOT then return true end
  if pc == ESC then return class_match(c, byte(ms.pat, p + 1)) end
  if pc == LBRACKET then return bracket_match(ms.pat, c, p, ep - 1) end
  return pc == c
end

local do_match -- forward

local function max_expand(ms, s, p, ep)
  local i = 0
  while single_match(ms, s + i, p, ep) do i = i + 1 end
  while i >= 0 do
    local res = do_match(ms, s + i, ep + 1)
    if res then return res end
    i = i - 1
  end
  return nil
end

local function min_expand(ms, s, p, ep)
  while true do
    local res = do_match(ms, s, ep + 1)
    if res then return res end
    if single_match(ms, s, p, ep) then s = s + 1 else return nil end
  end
end

local function start_capture(ms, s, p, what)
  local level = ms.level + 1
  if level > MAXCAPTURES then error("too many captures", 0) end
  ms.cap_init[level], ms.cap_len[level] = s, what
  ms.level = level
  local res = do_match(ms, s, p)
  if not res then ms.level = ms.level - 1 end
  return res
end

local function end_capture(ms, s, p)
  local l = ms.level
  while l >= 1 and ms.cap_len[l] ~= UNFINISHED do l = l - 1 end
  if l < 1 then error("invalid pattern capture", 0) end
  ms.cap_len[l] = s - ms.cap_init[l]
  local res = do_match(ms, s, p)
  if not res then ms.cap_len[l] = UNFINISHED end
  return res
end

local function match_balance(ms, s, p)
  if p + 1 > ms.p_end then error("unbalanced pattern", 0) end
  if s > ms.s_end or byte(ms.src, s) ~= byte(ms.pat, p) then return nil end
  local b, e, cont = byte(ms.pat, p), byte(ms.pat, p + 1), 1
  s = s + 1
  while s <= ms.s_end do
    local c = byte(ms.src, s)
    if c == e then
      cont = cont - 1
      if cont == 0 then return s + 1 end
    elseif c == b then
      cont = cont + 1
    end
    s = s + 1
  end
  return nil
end

local function match_capture(ms, s, digit)
  local l = digit - 48
  if l < 1 or l > ms.level or ms.cap_len[l] == UNFINISHED then
    error("invalid capture index", 0)
  end
  local len = ms.cap_len[l]
  if ms.s_end - s + 1 >= len and
     sub(ms.src, ms.cap_init[l], ms.cap_init[l] + len - 1) == sub(ms.src, s, s + len - 1) then
    return s + len
  end
  return nil
end

-- the index after the match of pattern[p..] at subject[s..], or nil
function do_match(ms, s, p)
  local pat, p_end = ms.pat, ms.p_end
  while true do
    if p > p_end then return s end
    local pc = byte(pat, p)
    if pc == LPAREN then
      if byte(pat, p + 1) == RPAREN then return start_capture(ms, s, p + 2, POSITION) end
      return start_capture(ms, s, p + 1, UNFINISHED)
    elseif pc == RPAREN then
      return end_capture(ms, s, p + 1)
    elseif pc == DOLLAR and p == p_end then
      if s == ms.s_end + 1 then return s end
      return nil
    end
    local next_p
    if pc == ESC then
      local nc = byte(pat, p + 1)
      if nc == 98 then -- %b
        s = match_balance(ms, s, p + 2)
        if not s then return nil end
        next_p = p + 4
      elseif nc == 102 then -- %f
        p = p + 2
        if byte(pat, p) ~= LBRACKET then error("missing '[' after '%f' in pattern", 0) end
        local ep = class_end(ms, p)
        local prev = s == 1 and 0 or byte(ms.src, s - 1)
        local cur = byte(ms.src, s) or 0
        if bracket_match(pat, prev, p, ep - 1) or not bracket_match(pat, cur, p, ep - 1) then return nil end
        next_p = ep
      elseif nc and nc >= 48 and nc <= 57 then -- back-reference %1..%9
        s = match_capture(ms, s, nc)
        if not s then return nil end
        next_p = p + 2
      end
    end
    if next_p then
      p = next_p
    else
      local ep = class_end(ms, p)
      local m = single_match(ms, s, p, ep)
      local q = byte(pat, ep)
      if q == QUESTION then
        if m then
          local res = do_match(ms, s + 1, ep + 1)
          if res then return res end
        end
        p = ep + 1
      elseif q == STAR then
        return max_expand(ms, s, p, ep)
      elseif q == PLUS then
        if not m then return nil end
        return max_expand(ms, s + 1, p, ep)
      elseif q == DASH then
        return min_expand(ms, s, p, ep)
      else
        if not m then return nil end
        s, p = s + 1, ep
      end
    end
  end
end

local function new_state(src, pat, p_start)
  return { src = src, s_end = #src, pat = pat, p_end = #pat, level = 0, cap_init = {}, cap_len = {},
           p_start = p_start }
end

local function one_capture(ms, i, s, e)
  if i > ms.level then
    if i == 1 then return sub(ms.src, s, e - 1) end
    error("invalid capture index", 0)
  end
  local len = ms.cap_len[i]
  if len == UNFINISHED then error("unfinished capture", 0) end
  if len == POSITION then return ms.cap_init[i] end
  return sub(ms.src, ms.cap_init[i], ms.cap_init[i] + len - 1)
end

local function captures(ms, s, e, whole)
  local n = ms.level
  if n == 0 then
    if whole then return sub(ms.src, s, e - 1) end
    return
  end
  local out = {}
  for i = 1, n do out[i] = one_capture(ms, i, s, e) end
  return unpack(out, 1, n)
end

local function check_string(v, n, fname)
  local t = type(v)
  if t == "string" then return v end
  if t == "number" then return tostring(v) end
  error(c_format("bad argument #%d to '%s' (string expected, got %s)", n, fname, t), 3)
end

local function start_index(init, len)
  init = tonumber(init) or 1
  if init < 0 then init = len + init + 1 end
  if init < 1 then init = 1 end
  return init
end

local function find_aux(s, p, init, is_find)
  local anchor = byte(p, 1) == CARET
  local p_start = anchor and 2 or 1
  local ms = new_state(s, p, p_start)
  local s1 = init
  repeat
    ms.level = 0
    local e = do_match(ms, s1, p_start)
    if e then
      if is_find then return s1, e - 1, captures(ms, s1, e, false) end
      return captures(ms, s1, e, true)
    end
    s1 = s1 + 1
  until anchor or s1 > ms.s_end + 1
  return nil
end

local M = {}

function M.find(s, p, init)
  s, p = check_string(s, 1, "find"), check_string(p, 2, "find")
  if not c_find(p, SPECIALS) then return c_find(s, p, init, true) end
  return find_aux(s, p, start_index(init, #s), true)
end

function M.match(s, p, init)
  s, p = check_string(s, 1, "match"), check_string(p, 2, "match")
  return find_aux(s, p, start_index(init, #s), false)
end

function M.gmatch(s, p)
  s, p = check_string(s, 1, "gmatch"), check_string(p, 2, "gmatch")
  local ms, pos = new_state(s, p, 1), 1
  return function()
    while pos <= ms.s_end + 1 do
      ms.level = 0
      local e = do_match(ms, pos, 1)
      if e then
        local start = pos
        pos = e == pos and e + 1 or e
        return captures(ms, start, e, true)
      end
      pos = pos + 1
    end
    return nil
  end
end

local function add_string(ms, parts, repl, s, e)
  local i, n = 1, #repl
  while i <= n do
    local c = byte(repl, i)
    if c == ESC then
      i = i + 1
      local d = byte(repl, i)
      if d and d >= 48 and d <= 57 then
        if d == 48 then
          parts[#parts + 1] = sub(ms.src, s, e - 1)
        else
          parts[#parts + 1] = tostring(one_capture(ms, d - 48, s, e))
        end
      elseif d then
        parts[#parts + 1] = char(d)
      end
    else
      local j = c_find(repl, "%", i, true) or n + 1
      parts[#parts + 1] = sub(repl, i, j - 1)
      i = j - 1
    end
    i = i + 1
  end
end

local function add_value(ms, parts, repl, kind, s, e)
  local value
  if kind == "function" then
    value = repl(captures(ms, s, e, true))
  elseif kind == "table" then
    value = repl[one_capture(ms, 1, s, e)]
  else
    return add_string(ms, parts, repl, s, e)
  end
  if not value then
    parts[#parts + 1] = sub(ms.src, s, e - 1)
  elseif type(value) == "string" or type(value) == "number" then
    parts[#parts + 1] = tostring(value)
  else
    error("invalid replacement value (a " .. type(value) .. ")", 0)
  end
end

function M.gsub(s, p, repl, max_n)
  s, p = check_string(s, 1, "gsub"), check_string(p, 2, "gsub")
  local kind = type(repl)
  if kind == "number" then
    repl, kind = tostring(repl), "string"
  elseif kind ~= "string" and kind ~= "function" and kind ~= "table" then
    error("bad argument #3 to 'gsub' (string/function/table expected)", 2)
  end
  local anchor = byte(p, 1) == CARET
  local p_start = anchor and 2 or 1
  local ms = new_state(s, p, p_start)
  max_n = tonumber(max_n) or (#s + 1)
  local parts, src, n = {}, 1, 0
  while n < max_n do
    ms.level = 0
    local e = do_match(ms, src, p_start)
    if e then
      n = n + 1
      add_value(ms, parts, repl, kind, src, e)
    end
    if e and e > src then
      src = e
    elseif src <= ms.s_end then
      parts[#parts + 1] = sub(s, src, src)
      src = src + 1
    else
      break
    end
    if anchor then break end
  end
  parts[#parts + 1] = sub(s, src)
  return concat(parts), n
end

M.SPECIALS = SPECIALS
return M

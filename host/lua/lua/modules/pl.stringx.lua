-- pl.stringx (Penlight): Python-style string functions.
--   isalpha isdigit isalnum isspace islower isupper  startswith endswith (a string or a
--   list of affixes)  join(sep, list)  split(s, sep?, n?)  splitv  splitlines(s, keep_ends)
--   strip lstrip rstrip (chars?)  replace(s, old, new, n?)  count(s, sub, overlap?)
--   lfind rfind  partition rpartition  at  lines  ljust rjust center  expandtabs
--   title capitalize  shorten
-- Same results as Penlight's; lists are plain tables (Penlight returns pl.List objects).
local type, ipairs, error, unpack = type, ipairs, error, unpack
local find, sub, gsub, rep, reverse, upper, lower, gmatch, format =
  string.find, string.sub, string.gsub, string.rep, string.reverse, string.upper, string.lower,
  string.gmatch, string.format
local concat, ceil = table.concat, math.ceil

local _, H = ...
local utils = H.require("pl.utils")
local assert_arg, escape, usplit = utils.assert_arg, utils.escape, utils.split

local stringx = {}

local function assert_string(n, s) assert_arg(n, s, "string", nil, nil, 3) end

local function nonempty(s) return #s > 0 end

local function whole(pattern)
  return function(s)
    assert_string(1, s)
    return find(s, pattern) == 1
  end
end
stringx.isalpha = whole("^%a+$")
stringx.isdigit = whole("^%d+$")
stringx.isalnum = whole("^%w+$")
stringx.isspace = whole("^%s+$")
stringx.islower = whole("^[%l%s]+$")
stringx.isupper = whole("^[%u%s]+$")

local function starts(s, prefix) return find(s, prefix, 1, true) == 1 end

local function ends(s, suffix)
  return #s >= #suffix and find(s, suffix, #s - #suffix + 1, true) ~= nil
end

local function any_affix(s, affixes, test)
  if type(affixes) == "string" then return test(s, affixes) end
  if type(affixes) ~= "table" then
    error(format("argument #2 expected a 'string' or a 'table', got a '%s'", type(affixes)))
  end
  for _, affix in ipairs(affixes) do
    if test(s, affix) then return true end
  end
  return false
end

function stringx.startswith(s, prefix)
  assert_string(1, s)
  return any_affix(s, prefix, starts)
end

function stringx.endswith(s, suffix)
  assert_string(1, s)
  return any_affix(s, suffix, ends)
end

function stringx.join(s, seq)
  assert_string(1, s)
  return concat(seq, s)
end

function stringx.splitlines(s, keep_ends)
  assert_string(1, s)
  local lines, n, pos = {}, 0, 1
  while true do
    local eol = find(s, "[\r\n]", pos)
    if not eol then break end
    local ending = sub(s, eol, eol)
    if ending == "\r" and sub(s, eol + 1, eol + 1) == "\n" then ending = "\r\n" end
    n = n + 1
    lines[n] = sub(s, pos, eol - 1) .. (keep_ends and ending or "")
    pos = eol + #ending
  end
  if pos <= #s then lines[n + 1] = sub(s, pos) end
  return lines
end

local function strip(s, left, right, chars)
  local class = chars and ("[" .. escape(chars) .. "]") or "%s"
  local first, last = 1, #s
  if left then
    local _, e = find(s, "^" .. class .. "*")
    first = e + 1
  end
  if right then
    local _, e = find(reverse(sub(s, first)), "^" .. class .. "*")
    last = last - e
  end
  return sub(s, first, last)
end

function stringx.lstrip(s, chars) assert_string(1, s) return strip(s, true, false, chars) end
function stringx.rstrip(s, chars) assert_string(1, s) return strip(s, false, true, chars) end
function stringx.strip(s, chars) assert_string(1, s) return strip(s, true, true, chars) end

--- Split on the plain separator `re` (default: runs of whitespace, leading space
-- ignored), at most `n` pieces; a trailing separator gives a trailing "".
function stringx.split(s, re, n)
  assert_string(1, s)
  local plain = true
  if not re then
    s = strip(s, true, false)
    plain = false
  end
  local res = usplit(s, re, plain, n)
  if re and re ~= "" and find(s, re, -#re, true) and (n or math.huge) > #res then
    res[#res + 1] = ""
  end
  return res
end

function stringx.splitv(s, re, plain, n)
  assert_string(1, s)
  return unpack(usplit(s, re, plain, n))
end

function stringx.expandtabs(s, tabsize)
  assert_string(1, s)
  tabsize = tabsize or 8
  return (gsub(s, "([^\t\r\n]*)\t", function(before)
    if tabsize == 0 then return before end
    return before .. rep(" ", tabsize - #before % tabsize)
  end))
end

-- (position of the last match of plain `needle` in s[first..last], number of matches)
local function find_all(s, needle, first, last, overlap)
  first, last = first or 1, last or #s
  if needle == "" then return last + 1, last - first + 1 end
  local found, count = nil, 0
  local i, j = find(s, needle, first, true)
  while i and j <= last do
    found, count = i, count + 1
    i, j = find(s, needle, overlap and i + 1 or j + 1, true)
  end
  return found, count
end

function stringx.lfind(s, needle, first, last)
  assert_string(1, s)
  assert_string(2, needle)
  local i, j = find(s, needle, first, true)
  if i and (not last or j <= last) then return i end
  return nil
end

function stringx.rfind(s, needle, first, last)
  assert_string(1, s)
  assert_string(2, needle)
  return (find_all(s, needle, first, last, true))
end

function stringx.replace(s, old, new, n)
  assert_string(1, s)
  assert_string(2, old)
  assert_string(3, new)
  return (gsub(s, escape(old), (gsub(new, "%%", "%%%%")), n))
end

function stringx.count(s, needle, overlap)
  assert_string(1, s)
  local _, k = find_all(s, needle, 1, false, overlap)
  return k
end

local function pad(s, w, ch, left, right)
  local n = #s
  if w <= n then return s end
  ch = ch or " "
  if left and right then
    local r = ceil((w - n) / 2)
    return rep(ch, w - n - r) .. s .. rep(ch, r)
  elseif right then
    return rep(ch, w - n) .. s
  end
  return s .. rep(ch, w - n)
end

function stringx.ljust(s, w, ch) assert_string(1, s) assert_arg(2, w, "number") return pad(s, w, ch, true, false) end
function stringx.rjust(s, w, ch) assert_string(1, s) assert_arg(2, w, "number") return pad(s, w, ch, false, true) end
function stringx.center(s, w, ch) assert_string(1, s) assert_arg(2, w, "number") return pad(s, w, ch, true, true) end

-- As Penlight's: the middle value is the one character where `ch` starts, and the
-- last value what follows that character.
local function partition(s, i)
  if not i then return s, "", "" end
  return sub(s, 1, i - 1), sub(s, i, i), sub(s, i + 1)
end

function stringx.partition(s, ch)
  assert_string(1, s)
  assert_arg(2, ch, "string", nonempty, "must be a non-empty string")
  return partition(s, (find(s, ch, 1, true)))
end

function stringx.rpartition(s, ch)
  assert_string(1, s)
  assert_arg(2, ch, "string", nonempty, "must be a non-empty string")
  local i = find_all(s, ch, 1, #s, true)
  if not i then return "", "", s end
  return partition(s, i)
end

function stringx.at(s, idx)
  assert_string(1, s)
  assert_arg(2, idx, "number")
  return sub(s, idx, idx)
end

function stringx.lines(s)
  assert_string(1, s)
  if not find(s, "\n$") then s = s .. "\n" end
  return gmatch(s, "([^\n]*)\n")
end

function stringx.title(s)
  assert_string(1, s)
  return (gsub(s, "(%S)(%S*)", function(f, r) return upper(f) .. lower(r) end))
end
stringx.capitalize = stringx.title

function stringx.shorten(s, w, tail)
  assert_string(1, s)
  if #s <= w then return s end
  if w < 3 then return rep(".", w) end
  if tail then return "..." .. sub(s, #s - w + 4) end
  return sub(s, 1, w - 3) .. "..."
end

return stringx

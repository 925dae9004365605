-- ngx.re: OpenResty's regex API (match, find, gmatch, sub, gsub) over PCRE-compatible
-- patterns run by Python's `regex` package (host/lua/modules/moongate_ngx_re.py).
--
-- Compiled patterns are cached here by (options, pattern) and known to Python by an id,
-- so match/find/gsub cost one crossing.  Return values follow lua-resty-core: compile
-- errors are `nil, err` (find/sub/gsub: `nil, nil, err`), an unknown option letter
-- raises, unset groups are `false`, `ctx.pos` is read and written as 1-based offsets.
-- The internals are shared with the `ngx.re` module (split) through H.ngx_re.
local B, H = ...

local type, tostring, error, select, setmetatable, pairs = type, tostring, error, select, setmetatable, pairs
local byte, sub, format, concat = string.byte, string.sub, string.format, table.concat
local bor = bit.bor
local py_compile, py_exec, py_find, py_sub, py_scan, py_flush = B.compile, B.exec, B.find, B.sub, B.scan, B.flush

-- option letters -> bits understood by the Python side (_regex.py); "o" and "j" are
-- accepted: every pattern is cached, and there is no separate JIT
local OPTION_BITS = {
  i = 1, m = 2, s = 4, x = 8, a = 16, u = 32, U = 32 + 512, D = 64, d = 128, J = 256, o = 0, j = 0,
}
local UTF8 = 32

local parsed_opts = {}   -- option string -> bits

local function parse_opts(opts)
  local bits = parsed_opts[opts]
  if bits then return bits end
  bits = 0
  for i = 1, #opts do
    local c = sub(opts, i, i)
    local b = OPTION_BITS[c]
    if b == nil then
      -- level 4: the caller of ngx.re.* (parse_opts <- compile <- ngx.re.x <- caller)
      error(format('unknown flag "%s" (flags "%s")', c, opts), 4)
    end
    bits = bor(bits, b)
  end
  parsed_opts[opts] = bits
  return bits
end

-- options -> pattern -> entry {id, ncap, names, bits, regex}; bounded like OpenResty's
-- lua_regex_cache_max_entries: when full, both sides start over
local cache, cache_size, CACHE_MAX = {}, 0, 1024

local function compile(regex, opts)
  if type(regex) ~= "string" then
    if type(regex) ~= "number" then
      error("bad argument #2 (string expected, got " .. type(regex) .. ")", 3)
    end
    regex = tostring(regex)
  end
  opts = opts or ""
  local by_pattern = cache[opts]
  local entry = by_pattern and by_pattern[regex]
  if entry then return entry end
  local bits = parse_opts(opts)
  if cache_size >= CACHE_MAX then
    cache, cache_size, by_pattern = {}, 0, nil
    py_flush()
  end
  local id, ncap, names = py_compile(regex, bits)
  if id == nil then return nil, ncap end
  entry = { id = id, ncap = ncap, names = names, bits = bits, regex = regex }
  if not by_pattern then
    by_pattern = {}
    cache[opts] = by_pattern
  end
  by_pattern[regex] = entry
  cache_size = cache_size + 1
  return entry
end

-- the Python side forgot the id (its cache was flushed): compile again, fresh id
local function refresh(entry)
  entry.id, entry.ncap, entry.names = py_compile(entry.regex, entry.bits)
end

-- the next start after an empty match: one character on (in UTF-8 mode a whole one)
local function step(entry, subj, e0)
  local pos = e0 + 1
  if bit.band(entry.bits, UTF8) ~= 0 then
    local b = byte(subj, pos + 1)
    while b and b >= 0x80 and b < 0xC0 do
      pos = pos + 1
      b = byte(subj, pos + 1)
    end
  end
  return pos
end

-- captures table: [0] whole match, [i] group i (false when unset), names as in
-- OpenResty (with flag D a name maps to the list of its groups that matched)
local function add_names(res, names)
  for name, idx in pairs(names) do
    if type(idx) == "table" then
      local list
      for k = 1, #idx do
        local cap = res[idx[k]]
        if cap then
          list = list or {}
          list[#list + 1] = cap
        end
      end
      if list then res[name] = list end
    else
      res[name] = res[idx]
    end
  end
  return res
end

local function captures(entry, res, c0, ...)
  if res == nil then
    res = { ... }
  else
    for i = 1, entry.ncap do res[i] = (select(i, ...)) end
  end
  res[0] = c0
  if entry.names then add_names(res, entry.names) end
  return res
end

local function start_pos(ctx)
  if ctx then
    local pos = ctx.pos
    if pos and pos > 0 then return pos - 1 end
  end
  return 0
end

local re = {}

---------------------------------------------------------------------------------
-- match / find
---------------------------------------------------------------------------------
local function on_match(entry, subj, pos, ctx, res, s0, e0, ...)
  if s0 == nil then return nil end
  if s0 == false then
    refresh(entry)
    return on_match(entry, subj, pos, ctx, res, py_exec(entry.id, subj, pos))
  end
  if type(s0) == "string" then return nil, s0 end
  if ctx then ctx.pos = e0 + 1 end
  return captures(entry, res, ...)
end

function re.match(subj, regex, opts, ctx, res)
  subj = tostring(subj)
  local entry, err = compile(regex, opts)
  if not entry then return nil, err end
  local pos = start_pos(ctx)
  return on_match(entry, subj, pos, ctx, res, py_exec(entry.id, subj, pos))
end

function re.find(subj, regex, opts, ctx, nth)
  subj = tostring(subj)
  local entry, err = compile(regex, opts)
  if not entry then return nil, nil, err end
  if not nth or nth < 0 then nth = 0 end
  if nth > entry.ncap then return nil, nil, "nth out of bound" end
  local pos = start_pos(ctx)
  local s0, e0, sn, en = py_find(entry.id, subj, pos, nth)
  if s0 == false then
    refresh(entry)
    s0, e0, sn, en = py_find(entry.id, subj, pos, nth)
  end
  if s0 == nil then return nil end
  if type(s0) == "string" then return nil, nil, s0 end
  if ctx then ctx.pos = e0 + 1 end
  if sn < 0 then return nil, nil end
  return sn + 1, en
end

---------------------------------------------------------------------------------
-- gmatch: a callable iterator table, one crossing per step
---------------------------------------------------------------------------------
local function on_step(it, s0, e0, ...)
  local entry = it.entry
  if s0 == false then
    refresh(entry)
    return on_step(it, py_exec(entry.id, it.subj, it.pos))
  end
  if s0 == nil then
    it.pos = nil
    return nil
  end
  if type(s0) == "string" then
    it.pos = nil
    return nil, s0
  end
  local nxt = e0
  if e0 == s0 then
    nxt = step(entry, it.subj, e0)
    if nxt > #it.subj then nxt = nil end
  end
  it.pos = nxt
  return captures(entry, nil, ...)
end

local GMATCH_MT = {
  __call = function(it)
    if not it.pos then return nil end
    return on_step(it, py_exec(it.entry.id, it.subj, it.pos))
  end,
}

function re.gmatch(subj, regex, opts)
  subj = tostring(subj)
  local entry, err = compile(regex, opts)
  if not entry then return nil, err end
  return setmetatable({ entry = entry, subj = subj, pos = 0 }, GMATCH_MT)
end

---------------------------------------------------------------------------------
-- sub / gsub: a template runs entirely in Python; a function gets every match's
-- captures from one crossing (matching does not depend on what it returns)
---------------------------------------------------------------------------------
local function replace_with(entry, subj, fn, flat)
  local ncap, names = entry.ncap, entry.names
  local stride = ncap + 3
  local out, n, cut, count = {}, 0, 0, 0
  for base = 1, #flat, stride do
    local caps = { [0] = flat[base + 2] }
    for i = 1, ncap do caps[i] = flat[base + 2 + i] end
    if names then add_names(caps, names) end
    count = count + 1
    out[n + 1] = sub(subj, cut + 1, flat[base])
    out[n + 2] = tostring(fn(caps))
    n = n + 2
    cut = flat[base + 1]
  end
  out[n + 1] = sub(subj, cut + 1)
  return concat(out, "", 1, n + 1), count
end

-- Callbacks that call ngx.re.sub/gsub again nest in Lua (not through C as string.gsub's
-- do), one host crossing per level: past MAX_NESTING levels the call fails at once
-- instead of spending a sandbox's CPU budget on its way to a stack overflow.
local MAX_NESTING = 200
local nesting = 0

local function nested_done(ok, a, b, c)
  nesting = nesting - 1
  if not ok then error(a, 0) end
  return a, b, c
end

local function replace(subj, regex, repl, opts, global)
  local entry, err = compile(regex, opts)
  if not entry then return nil, nil, err end
  subj = tostring(subj)
  if type(repl) == "function" then
    local flat = py_scan(entry.id, subj, global)
    if flat == false then
      refresh(entry)
      flat = py_scan(entry.id, subj, global)
    end
    if flat == nil then return subj, 0 end
    if type(flat) == "string" then return nil, nil, flat end
    if nesting >= MAX_NESTING then
      error("ngx.re callbacks nested more than " .. MAX_NESTING .. " deep", 3)
    end
    nesting = nesting + 1
    return nested_done(pcall(replace_with, entry, subj, repl, flat))
  end
  if type(repl) ~= "string" then repl = tostring(repl) end
  local res, count, err2 = py_sub(entry.id, subj, repl, global)
  if res == false then
    refresh(entry)
    res, count, err2 = py_sub(entry.id, subj, repl, global)
  end
  if res == nil then return nil, nil, err2 end
  return res, count
end

function re.sub(subj, regex, repl, opts)
  return replace(subj, regex, repl, opts, false)
end

function re.gsub(subj, regex, repl, opts)
  return replace(subj, regex, repl, opts, true)
end

H.ngx_re = { compile = compile, refresh = refresh, step = step, exec = py_exec }

return { re = re }

-- The Lua half of a sandboxed runtime (host/lua/sandbox.py, sdk-docs/security.md).
--
-- Run once, after core.lua and the kong/ngx tables, in a runtime of its own (its own
-- max_memory).  With the runtime's real globals it:
--  * turns the JIT off for the whole runtime: count hooks do not fire in compiled code;
--  * limits every call into plugin code (H.scall/H.sresume replace H.call/H.resume for
--    the driver; call_direct and load-time calls too) to a CPU budget: a count hook
--    checks os.clock() every COUNT instructions and raises the KILL sentinel; once
--    killed, the hook raises it again at every tick and the guarded pcall, xpcall and
--    coroutine.resume re-raise it, so plugin code cannot swallow it;
--  * limits what a C function could do unseen: string.rep output size, the nesting of
--    string.gsub callbacks and of coroutines (C-stack recursion crashes the process),
--    string values handed to the PDK, and the worst-case work of pattern matching:
--    expensive patterns run in lpattern.lua, where the hook sees every step;
--  * builds the environments of sandboxed plugins and of untrusted code strings from
--    the allow-lists in sandbox_policy.lua.
-- Errors raised by the limits start with "sandbox limit:" (reason "limit"); refused
-- writes and requires use Kong's wording (reason "forbidden").
local H, policy, lp, limits = ...

local sethook, clock, traceback = debug.sethook, os.clock, debug.traceback
local co_create, co_resume, co_yield, co_status, co_running = coroutine.create, coroutine.resume,
  coroutine.yield, coroutine.status, coroutine.running
local pcall, xpcall, error, type, select, next, tostring = pcall, xpcall, error, type, select, next, tostring
local setmetatable, getmetatable, load, unpack = setmetatable, getmetatable, load, unpack
local c_find, c_match, c_gmatch, c_gsub, c_rep = string.find, string.match, string.gmatch, string.gsub, string.rep
local byte, sub, format = string.byte, string.sub, string.format

jit.off()
jit.flush()

local BUDGET, LOAD_BUDGET = limits.budget, limits.load_budget
local MAX_REP, MAX_VALUE, MAX_DEPTH, MAX_WORK = limits.max_rep, limits.max_value, limits.max_depth, limits.max_work
local COUNT = 1000
local LIMIT = "sandbox limit: "

---------------------------------------------------------------------------------
-- the CPU budget
---------------------------------------------------------------------------------
local KILL = {}
H.KILL = KILL
H.VIOLATION[KILL] = "\0moongate:violation:timeout"
local TIMEOUT = H.VIOLATION[KILL]

local DEADLINE, ARMED, ALLOW_MAIN, KILLED = 0, false, false, false
local CO_DEPTH, GSUB_DEPTH = 0, 0

local CORE = "@moongate/core.lua"
local getinfo = debug.getinfo
local function hook()
  if KILLED or clock() > DEADLINE then
    -- the main thread runs host code (the driver between resumes) unless a load-time
    -- call armed the hook for it; the driver's own code in a handler's coroutine is
    -- left to reach its next yield (the kill comes at the next tick in plugin code)
    if not ALLOW_MAIN and co_running() == nil then return end
    local info = getinfo(2, "S")
    if info and info.source == CORE then return end
    KILLED = true
    error(KILL, 0)
  end
end

local function arm(deadline, allow_main)
  local d, a, m = DEADLINE, ARMED, ALLOW_MAIN
  DEADLINE, ARMED, ALLOW_MAIN = deadline, true, allow_main
  if not a then
    KILLED, CO_DEPTH, GSUB_DEPTH = false, 0, 0
  end
  sethook(hook, "", COUNT)
  return d, a, m
end

local function disarm(d, a, m)
  DEADLINE, ARMED, ALLOW_MAIN = d, a, m
  if a then sethook(hook, "", COUNT) else sethook() end
end

--- The end of one run of plugin code (H.call or H.resume results follow `m`): a kill,
--- or a handler still waiting past its budget, becomes the timeout marker.
local function settle(t0, used0, d, a, m, first, tag, x, ...)
  disarm(d, a, m)
  local used = used0 + (clock() - t0)
  local killed = KILLED
  KILLED = false
  if killed or ((tag == 3 or tag == 4) and used > BUDGET) then
    local state
    if first == false then state = x elseif first ~= true then state = first end
    if tag == 3 or tag == 4 then H.bury(x) end -- never resumed
    return false, TIMEOUT, state
  end
  if tag == 3 or tag == 4 then x.used = used end -- waiting: CPU used so far
  return first, tag, x, ...
end

local call, resume = H.call, H.resume

--- H.call under the budget (what the driver calls in this runtime).
function H.scall(R, plugin, fn, ...)
  local t0 = clock()
  local d, a, m = arm(t0 + BUDGET, false)
  return settle(t0, 0, d, a, m, call(R, plugin, fn, ...))
end

--- H.resume under what is left of the handler's budget.
function H.sresume(h, ...)
  local t0, used0 = clock(), h.used or 0
  local d, a, m = arm(t0 + BUDGET - used0, false)
  return settle(t0, used0, d, a, m, resume(h, ...))
end

local core_call_direct = H.call_direct
local function finish_direct(co, d, a, m, ok, ...)
  disarm(d, a, m)
  local killed = KILLED
  KILLED = false
  if killed then return false, format("CPU budget of %d ms exceeded", BUDGET * 1000) end
  if not ok then return false, traceback(co, (...)) end
  if co_status(co) ~= "dead" then return false, "cannot yield here (schema validators must not wait)" end
  return ...
end

--- call_direct (schema validators) in a coroutine of its own under the budget.
function H.call_direct(R, plugin, fn, ...)
  local co = co_create(core_call_direct)
  local d, a, m = arm(clock() + BUDGET, false)
  return finish_direct(co, d, a, m, co_resume(co, R, plugin, fn, ...))
end

--- Load-time calls into plugin code from Python (module bodies, class set-up, the
--- schema walk): armed for the main thread too; sandbox_end_load says if it was killed.
local LOAD_SAVED
function H.sandbox_begin_load()
  LOAD_SAVED = { arm(clock() + LOAD_BUDGET, true) }
end
function H.sandbox_end_load()
  if LOAD_SAVED then disarm(unpack(LOAD_SAVED, 1, 3)) end
  LOAD_SAVED = nil
  local killed = KILLED
  KILLED = false
  return killed
end

--- After a violation: no hook, counters reset, garbage collected; true when the
--- runtime still answers.
function H.sandbox_reset()
  sethook()
  DEADLINE, ARMED, ALLOW_MAIN, KILLED, CO_DEPTH, GSUB_DEPTH = 0, false, false, false, 0, 0
  LOAD_SAVED = nil
  collectgarbage()
  collectgarbage()
  return true
end

---------------------------------------------------------------------------------
-- what plugin code cannot swallow: pcall, xpcall, coroutine.resume/wrap
---------------------------------------------------------------------------------
local MEMORY = "not enough memory"

local function rethrow(ok, err, ...)
  if KILLED then error(KILL, 0) end
  if not ok and err == MEMORY then error(MEMORY, 0) end
  return ok, err, ...
end
local function s_pcall(f, ...) return rethrow(pcall(f, ...)) end
-- the message handler runs where the error was raised, before unwinding: for a kill
-- that is inside the hook, where no hook fires, so the plugin's handler is skipped
local function s_xpcall(f, handler, ...)
  if type(handler) ~= "function" then return rethrow(xpcall(f, handler, ...)) end
  return rethrow(xpcall(f, function(e)
    if KILLED then return e end
    return handler(e)
  end, ...))
end

local IO, EXIT, MAIN = H.IO, H.EXIT, H.MAIN

local function left(...)
  CO_DEPTH = CO_DEPTH - 1
  return rethrow(...)
end
local function counted_resume(co, ...)
  if CO_DEPTH >= MAX_DEPTH then
    error(LIMIT .. "coroutines nested more than " .. MAX_DEPTH .. " deep", 0)
  end
  CO_DEPTH = CO_DEPTH + 1
  return left(co_resume(co, ...))
end
-- host yields (I/O, exit) pass through a plugin's coroutines, as in core.lua
local function resume_through(co, ok, tag, ...)
  if ok and (tag == IO or tag == MAIN) and co_status(co) == "suspended" then
    return resume_through(co, counted_resume(co, co_yield(tag, ...)))
  end
  if ok and tag == EXIT then return H.exit() end
  return ok, tag, ...
end
local function s_resume(co, ...)
  if type(co) ~= "thread" then error("bad argument #1 to 'resume' (coroutine expected)", 2) end
  return resume_through(co, counted_resume(co, ...))
end
local function wrap_results(ok, ...)
  if not ok then error((...), 2) end
  return ...
end
local function s_wrap(fn)
  local co = co_create(fn)
  return function(...) return wrap_results(s_resume(co, ...)) end
end

---------------------------------------------------------------------------------
-- string functions: rep size, gsub callback nesting, pattern work
---------------------------------------------------------------------------------
local function s_rep(s, n, sep)
  if type(n) == "number" and n > 1 and (type(s) == "string" or type(s) == "number") then
    local size = #tostring(s) * n
    if type(sep) == "string" then size = size + #sep * (n - 1) end
    if size > MAX_REP then
      error(format("%sstring.rep result of %.0f bytes is over the limit of %d", LIMIT, size, MAX_REP), 2)
    end
  end
  return c_rep(s, n, sep)
end

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
  if plain or type(s) ~= "string" or type(p) ~= "string" then return c_find(s, p, init, plain) end
  local i = start_of(init, #s)
  if i <= #s + 1 and expensive(s, p, i, true) then return lp.find(s, p, i) end
  return c_find(s, p, init)
end

local function s_match(s, p, init)
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
  GSUB_DEPTH = GSUB_DEPTH - 1
  if KILLED then error(KILL, 0) end
  if not ok then error(a, 0) end
  return a, b
end

local function s_gsub(s, p, repl, n)
  local impl = c_gsub
  if type(s) == "string" and type(p) == "string" and expensive(s, p, 1, true) then impl = lp.gsub end
  local kind = type(repl)
  if kind ~= "function" and kind ~= "table" then return impl(s, p, repl, n) end
  if GSUB_DEPTH >= MAX_DEPTH then
    error(LIMIT .. "string.gsub callbacks nested more than " .. MAX_DEPTH .. " deep", 2)
  end
  GSUB_DEPTH = GSUB_DEPTH + 1
  return left_gsub(pcall(impl, s, p, repl, n))
end

-- the real string table too: s:rep(), s:gsub() ... reach it through the string metatable
string.rep, string.find, string.match, string.gmatch, string.gsub = s_rep, s_find, s_match, s_gmatch, s_gsub

---------------------------------------------------------------------------------
-- values handed to the PDK
---------------------------------------------------------------------------------
local function size_of(v, depth, total)
  local kind = type(v)
  if kind == "string" then return total + #v end
  if kind ~= "table" or depth > 16 then return total end
  for k, x in next, v do
    total = size_of(x, depth + 1, size_of(k, depth + 1, total))
    if total > MAX_VALUE then return total end
  end
  return total
end

local function check_value(name, v)
  local size = size_of(v, 0, 0)
  if size > MAX_VALUE then
    error(format("%s%d bytes handed to %s is over the limit of %d", LIMIT, size, name, MAX_VALUE), 3)
  end
end

local function checked_args(name, n, ...)
  local total = 0
  for i = 1, n do
    total = size_of((select(i, ...)), 0, total)
  end
  if total > MAX_VALUE then
    error(format("%s%d bytes handed to %s is over the limit of %d", LIMIT, total, name, MAX_VALUE), 3)
  end
end

local SANDBOX_VIEW = {
  message = H.VIEW_MODES.sandbox.message,
  check = check_value,
  wrap = function(fn, name)
    return function(...)
      checked_args(name, select("#", ...), ...)
      return fn(...)
    end
  end,
}

local function assign_field(t, field, k, v) t[field][k] = v end

-- kong.ctx as Kong's sandbox shows it: shared and plugin, values checked on the way in
local function sandbox_ctx()
  local real = H.kong.ctx
  local function proxy(field)
    return setmetatable({}, {
      __index = function(_, k) return real[field][k] end,
      __newindex = function(_, k, v)
        check_value("kong.ctx." .. field, v)
        if type(v) == "table" or type(v) == "function" then
          H.on_main(assign_field, real, field, k, v) -- Python keeps it (see core.lua)
        else
          real[field][k] = v
        end
      end,
      __metatable = false,
    })
  end
  local shared, plugin = proxy("shared"), proxy("plugin")
  return setmetatable({}, {
    __index = function(_, k)
      if k == "shared" then return shared elseif k == "plugin" then return plugin end
    end,
    __newindex = function(_, k) error(format(SANDBOX_VIEW.message, "kong.ctx", tostring(k)), 2) end,
    __metatable = false,
  })
end

local function sandbox_views()
  local seen = { [H.kong.ctx] = sandbox_ctx() }
  return H.view(H.kong, "kong", SANDBOX_VIEW, seen), H.view(H.ngx, "ngx", SANDBOX_VIEW, seen)
end

---------------------------------------------------------------------------------
-- environments
---------------------------------------------------------------------------------
local function table_getmetatable(o)
  if type(o) == "table" then return getmetatable(o) end
  return nil
end
local function table_setmetatable(t, mt)
  if type(t) ~= "table" then
    error("bad argument #1 to 'setmetatable' (table expected, got " .. type(t) .. ")", 2)
  end
  return setmetatable(t, mt)
end

local host_print = H.print
local function s_print(...)
  checked_args("print", select("#", ...), ...)
  return host_print(...)
end

local SPECIAL = {
  pcall = s_pcall, xpcall = s_xpcall, print = host_print and s_print,
  ["coroutine.resume"] = s_resume, ["coroutine.wrap"] = s_wrap,
  ["string.rep"] = s_rep, ["string.find"] = s_find, ["string.match"] = s_match,
  ["string.gmatch"] = s_gmatch, ["string.gsub"] = s_gsub,
  getmetatable = table_getmetatable, setmetatable = table_setmetatable,
}

local function global(name)
  local m, f = c_match(name, "^([^%.]+)%.([^%.]+)$")
  if not m then return _G[name] end
  local lib = _G[m]
  local v = type(lib) == "table" and lib[f] or nil
  if v == nil and m == "table" then -- LuaJIT built-ins and host modules: table.new, table.clone, ...
    local ok, mod = pcall(H.require, name)
    if ok then v = mod end
  end
  return v
end

local function fill(env, list)
  for name in c_gmatch(list, "%S+") do
    local v = SPECIAL[name]
    if v == nil then v = global(name) end
    if v ~= nil then
      local m, f = c_match(name, "^([^%.]+)%.([^%.]+)$")
      if m then
        env[m] = env[m] or {}
        env[m][f] = v
      else
        env[name] = v
      end
    end
  end
  return env
end

local function set_of(list)
  local set = {}
  for _, name in ipairs(list) do set[name] = true end
  return set
end
local ALLOWED = set_of(limits.requires)
for name in c_gmatch(policy.requires, "%S+") do ALLOWED[name] = true end
local CODE_ALLOWED = set_of(limits.requires)

local function denied(name)
  error(format("require '%s' not allowed within sandbox", tostring(name)), 3)
end

-- untrusted_lua_sandbox_environment: dotted names linked in from the runtime's globals
-- (tables through a read-through table of their own: writes stay in the environment)
local function link(env)
  local roots = setmetatable({ kong = H.kong, ngx = H.ngx }, { __index = _G })
  for _, path in ipairs(limits.environment) do
    local target, source = env, roots
    local parts = {}
    for part in c_gmatch(path, "[^%.]+") do parts[#parts + 1] = part end
    for i, part in ipairs(parts) do
      local v = type(source) == "table" and source[part] or nil
      if v == nil then break end
      if i == #parts then
        target[part] = type(v) == "table" and setmetatable({}, { __index = v }) or v
      else
        if type(target[part]) ~= "table" then target[part] = {} end
        target, source = target[part], v
      end
    end
  end
  return env
end

--- A sandboxed plugin's globals: Kong's `lua` list plus the `plugin` list, its own
--- views of kong and ngx, `require` for its own modules and the allowed ones.
function H.env_builders.sandboxed(plugin)
  local env = fill(fill({}, policy.lua), policy.plugin)
  local full = H.make_require(plugin)
  local own = "kong.plugins." .. plugin .. "."
  env.require = function(name)
    if type(name) == "string" and (sub(name, 1, #own) == own or ALLOWED[name]) then return full(name) end
    denied(name)
  end
  env.kong, env.ngx = sandbox_views()
  env = link(env)
  env._G = env
  return env
end
H.default_env_kind = "sandboxed"

local CODE_KONG, CODE_NGX -- one set of views for every code string (they cannot rawset)
local code_modules = {}

--- The globals of one untrusted code string: Kong's `lua` list, kong, ngx, and a
--- `require` for untrusted_lua_sandbox_requires only (modules as read-only views).
local function untrusted_env(plugin)
  if CODE_KONG == nil then CODE_KONG, CODE_NGX = sandbox_views() end
  local env = fill({}, policy.lua)
  local full = H.make_require(plugin)
  env.require = function(name)
    if type(name) ~= "string" or not CODE_ALLOWED[name] then denied(name) end
    local m = code_modules[name]
    if m == nil then
      m = full(name)
      if type(m) == "table" then m = H.view(m, name, SANDBOX_VIEW, {}) end
      code_modules[name] = m
    end
    return m
  end
  env.kong, env.ngx = CODE_KONG, CODE_NGX
  env = link(env)
  env._G = env
  return env
end

local core_compile_untrusted = H.compile_untrusted
function H.compile_untrusted(plugin, src, chunkname)
  if H.untrusted_lua ~= "sandbox" then return core_compile_untrusted(plugin, src, chunkname) end
  if type(src) ~= "string" then return nil, "expected a string" end
  if byte(src, 1) == 27 then return nil, "attempt to load chunk with wrong mode" end
  return load(src, chunkname, "t", untrusted_env(plugin))
end

--- Whether the runtime still runs code (after a violation).
function H.sandbox_ping()
  return select("#", s_pcall(function() return 1 end)) == 2
end

return true

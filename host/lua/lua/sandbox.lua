-- The Lua half of a sandboxed runtime (host/lua/sandbox.py, sdk-docs/security.md).
--
-- Run once, after core.lua and the kong/ngx tables, in a runtime of its own (its own
-- max_memory).  With the runtime's real globals it (with sandbox_strings.lua and
-- sandbox_env.lua, which it loads):
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
local H, policy, lp, limits, lua_file = ...

local sethook, clock, traceback = debug.sethook, os.clock, debug.traceback
local co_create, co_resume, co_yield, co_status, co_running = coroutine.create, coroutine.resume,
  coroutine.yield, coroutine.status, coroutine.running
local pcall, xpcall, error, type, select, load, unpack = pcall, xpcall, error, type, select, load, unpack
local format = string.format

jit.off()
jit.flush()

local BUDGET, LOAD_BUDGET, MAX_DEPTH = limits.budget, limits.load_budget, limits.max_depth
local COUNT = 1000
local LIMIT = "sandbox limit: "

---------------------------------------------------------------------------------
-- the CPU budget
---------------------------------------------------------------------------------
local KILL = {}
H.KILL = KILL
-- what sandbox_strings.lua and sandbox_env.lua share with this file
local S = { KILL = KILL, LIMIT = LIMIT, gsub_depth = 0 }
H.VIOLATION[KILL] = "\0moongate:violation:timeout"
local TIMEOUT = H.VIOLATION[KILL]

-- The hook is installed once, for the runtime's life (sethook costs, and changes how
-- the VM dispatches every instruction twice per call otherwise); it does nothing
-- unless a call is ARMED.  A call's clock starts lazily: os.clock() is a system call
-- (about 0.7 us), so a call that ends before the first tick (COUNT instructions, the
-- common case for a handler) never reads it.  T0 is the clock at the first tick or
-- checkpoint (nil: not started), LEFT the budget from there, DEADLINE = T0 + LEFT.
-- What runs before the first tick is fewer than COUNT instructions and C calls on
-- inputs under sandbox_strings.lua's BIG (bigger ones start the clock): microseconds.
local ARMED, ALLOW_MAIN, KILLED = false, false, false
local T0, LEFT, DEADLINE = nil, 0, 0
local CO_DEPTH = 0

-- whether the armed call is over its budget (starts its clock on the first look)
local function over()
  if KILLED then return true end
  local now = clock()
  if T0 == nil then
    T0, DEADLINE = now, now + LEFT
    return LEFT <= 0
  end
  return now > DEADLINE
end

local CORE = "@moongate/core.lua"
local getinfo = debug.getinfo
local function hook()
  if ARMED and over() then
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
sethook(hook, "", COUNT)

--- Arm the budget `left` (seconds) for a call; `now` starts its clock at once (nil:
--- at the first tick).  Returns what disarm restores (an enclosing armed call's state).
local function arm(left, allow_main, now)
  local t, l, d, a, m = T0, LEFT, DEADLINE, ARMED, ALLOW_MAIN
  if not a then
    KILLED, CO_DEPTH, S.gsub_depth = false, 0, 0
  end
  ARMED, ALLOW_MAIN, LEFT, T0 = true, allow_main, left, now
  if now then DEADLINE = now + left end
  return t, l, d, a, m
end

local function disarm(t, l, d, a, m)
  T0, LEFT, DEADLINE, ARMED, ALLOW_MAIN = t, l, d, a, m
end

--- The end of one run of plugin code (H.call or H.resume results follow `m`): a kill,
--- or a handler still waiting past its budget, becomes the timeout marker.  Only a
--- run that waits needs its CPU time (what is left of the budget for the next run).
local function settle(used0, t, l, d, a, m, first, tag, x, ...)
  local started = T0
  disarm(t, l, d, a, m)
  local killed = KILLED
  KILLED = false
  local waiting = tag == 3 or tag == 4
  local used = 0
  if waiting then used = used0 + (started and clock() - started or 0) end
  if killed or used > BUDGET then
    local state
    if first == false then state = x elseif first ~= true then state = first end
    if waiting then H.bury(x) end -- never resumed
    return false, TIMEOUT, state
  end
  if waiting then x.used = used end -- waiting: CPU used so far
  return first, tag, x, ...
end

local call, resume = H.call, H.resume

--- H.call under the budget (what the driver calls in this runtime).
function H.scall(R, plugin, fn, ...)
  local t, l, d, a, m = arm(BUDGET, false, nil)
  return settle(0, t, l, d, a, m, call(R, plugin, fn, ...))
end

--- H.resume under what is left of the handler's budget (after I/O: the clock starts
--- at once, it costs little next to the wait).
function H.sresume(h, ...)
  local used0 = h.used or 0
  local t, l, d, a, m = arm(BUDGET - used0, false, clock())
  return settle(used0, t, l, d, a, m, resume(h, ...))
end

local core_call_direct = H.call_direct
local function finish_direct(co, t, l, d, a, m, ok, ...)
  disarm(t, l, d, a, m)
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
  local t, l, d, a, m = arm(BUDGET, false, nil)
  return finish_direct(co, t, l, d, a, m, co_resume(co, R, plugin, fn, ...))
end

--- Load-time calls into plugin code from Python (module bodies, class set-up, the
--- schema walk): armed for the main thread too; sandbox_end_load says if it was killed.
local LOAD_SAVED
function H.sandbox_begin_load()
  LOAD_SAVED = { arm(LOAD_BUDGET, true, clock()) }
end
function H.sandbox_end_load()
  if LOAD_SAVED then disarm(unpack(LOAD_SAVED, 1, 5)) end
  LOAD_SAVED = nil
  local killed = KILLED
  KILLED = false
  return killed
end

--- After a violation: nothing armed, counters reset, the hook installed again,
--- garbage collected; true when the runtime still answers.
function H.sandbox_reset()
  sethook(hook, "", COUNT)
  T0, LEFT, DEADLINE, ARMED, ALLOW_MAIN, KILLED, CO_DEPTH, S.gsub_depth = nil, 0, 0, false, false, false, 0, 0
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

-- No hook fires inside a C function, and a tick comes only every COUNT instructions:
-- a loop of long C calls (sorting or upper-casing megabytes) would overrun the budget
-- by hundreds of calls.  The limited C functions (sandbox_strings.lua) call this before
-- a call on a big input.
function S.checkpoint()
  if ARMED and over() then
    if not ALLOW_MAIN and co_running() == nil then return end
    KILLED = true
    error(KILL, 0)
  end
end
function S.killed() return KILLED end
S.pcall, S.xpcall, S.resume, S.wrap = s_pcall, s_xpcall, s_resume, s_wrap

local function part(name, ...)
  return load(lua_file(name), "@moongate/" .. name .. ".lua")(H, S, limits, ...)
end
S.strings = part("sandbox_strings", lp)
part("sandbox_env", policy)

--- Whether the runtime still runs code (after a violation).
function H.sandbox_ping()
  return select("#", s_pcall(function() return 1 end)) == 2
end

return true

-- Moongate's Lua host core.  Loaded once per LuaRuntime, with the runtime's own
-- globals, before anything else; it returns the table `H` the Python side drives.
--
--  * coroutine driver: every handler call runs in a pooled coroutine; a yield tagged
--    IO asks the host to await an operation and resume with its result, a yield
--    tagged EXIT ends the handler (kong.response.exit), DONE returns its results;
--  * environments: each plugin gets its own globals table over a safe base, with
--    fresh copies of the library tables and its own `require`;
--  * `require`: the plugin's own modules (kong.plugins.<name>.*), the modules the
--    host provides (host/lua/lua/modules/*.lua), and LuaJIT built-ins from an allow-list;
--  * trust levels: a plugin's environment is built by the builder of its kind
--    (`trusted` here; sandbox.lua adds `sandboxed` and `untrusted` in a sandboxed
--    runtime); `kong` and `ngx` are per-plugin read-only views (isolation.lua).
local B = ...   -- Python backing functions (host/lua/runtime.py: _Backing)

local co_create, co_resume, co_yield = coroutine.create, coroutine.resume, coroutine.yield
local co_status, co_running, co_isyieldable = coroutine.status, coroutine.running, coroutine.isyieldable
local type, error, pairs, ipairs, select, tostring = type, error, pairs, ipairs, select, tostring
local setmetatable, getmetatable, rawget, rawset = setmetatable, getmetatable, rawget, rawset
local load, pcall, xpcall, unpack = load, pcall, xpcall, unpack
local traceback, getinfo = debug.traceback, debug.getinfo
local find, sub, format, gsub, byte, match = string.find, string.sub, string.format, string.gsub, string.byte, string.match
local real_require = require

local H = {}

--- The JSON null / ngx.null sentinel (a userdata, like OpenResty's NULL lightuserdata).
local null = newproxy(true)
getmetatable(null).__tostring = function() return "userdata: NULL" end
H.null = null

--- A fresh per-request state table (kept by the Python side on the request context).
function H.new_request()
  return { plugin = {}, ngx_ctx = {} }
end

local DONE, IO, EXIT, RAISE = "\0moongate:done", "\0moongate:io", "\0moongate:exit", "\0moongate:raise"
H.DONE, H.IO, H.EXIT, H.RAISE = DONE, IO, EXIT, RAISE

---------------------------------------------------------------------------------
-- the request being served: set by the driver before every resume
---------------------------------------------------------------------------------
-- CUR is the request's state table; false in a request whose state is not made yet
-- (it is made on first use: most handlers never need it); nil outside requests.
local CUR, CUR_PLUGIN, CUR_H = nil, nil, nil

--- The per-request state table of the running handler (nil outside requests).
function H.current()
  local R = CUR
  if R == false then
    R = H.new_request()
    CUR = R
    CUR_H.R, CUR_H.fresh = R, true
  end
  return R
end
--- The name of the plugin whose handler is running (nil outside handlers).
function H.current_plugin() return CUR_PLUGIN end

--- Yield to the host to run I/O operation `op`; returns what the host resumes with.
function H.io(op, ...)
  if not co_isyieldable() then
    error("cannot perform I/O here: not inside a handler's coroutine", 2)
  end
  return co_yield(IO, op, ...)
end

--- End the running handler (after kong.response.exit stored the response).
function H.exit()
  co_yield(EXIT)
  error("a handler was resumed after kong.response.exit", 2)
end

--- Call a Python function wrapped by the bridge: RAISE means "raise a Lua error".
local function checked(a, ...)
  if a == RAISE then error((...), 3) end
  if a == EXIT then return H.exit() end
  return a, ...
end
function H.wrap(pyfn)
  return function(...) return checked(pyfn(...)) end
end

-- the results of a function run on the main thread (see H.on_main)
local function checked_main(ok, ...)
  if not ok then error((...), 0) end
  return ...
end

---------------------------------------------------------------------------------
-- coroutine driver
---------------------------------------------------------------------------------
-- lupa keeps, in each Lua object it hands to Python, the lua_State the object was
-- made on: a coroutine's, when plugin code passed it to a Python function.  Once
-- that coroutine is collected, releasing the Python object crashes the process.  So
-- the driver's coroutines are not left to die: a handler's error ends inside its
-- coroutine (xpcall in worker_loop) and the coroutine goes back to the pool; the
-- ones dropped in flight (after kong.response.exit, a request cancelled while
-- waiting) rest in GRAVES for a while; and what must outlive the handler (a timer's
-- callback) can be handed over from the main thread (H.on_main).

-- error values that are not plugin errors but violations: value -> marker text the
-- host turns into host.lua.sandbox.SandboxViolation (sandbox.lua adds its kill sentinel)
local VIOLATION = { ["not enough memory"] = "\0moongate:violation:memory" }
H.VIOLATION = VIOLATION

local function error_message(err)
  if type(err) == "string" then return err end
  if type(err) == "table" and type(rawget(err, "message")) == "string" then return rawget(err, "message") end
  return "(error object is a " .. type(err) .. " value)"
end

local function error_text(co, err)
  local violation = VIOLATION[err]
  if violation ~= nil then return violation end
  return traceback(co, error_message(err))
end

-- xpcall's message handler inside a handler's coroutine: the text with its traceback,
-- read as before the coroutines were kept (a dead coroutine's traceback: the failing
-- frame without a line, which the message has) and without the driver's own frames
local function on_error(err)
  local violation = VIOLATION[err]
  if violation ~= nil then return violation end
  local tb = traceback(error_message(err), 2)
  local head, first, rest = match(tb, "^(.-\nstack traceback:\n\t)([^\n]*)(.*)$")
  if head == nil then return tb end
  if sub(first, 1, 3) ~= "[C]" then first = gsub(first, ":%d+: in ", ": in ", 1) end
  local cut = find(rest, "\n\t[C]: in function 'xpcall'", 1, true)
  if cut then rest = sub(rest, 1, cut - 1) end
  return head .. first .. rest
end

local FAILED, MAIN = "\0moongate:failed", "\0moongate:main"
H.MAIN = MAIN
local function outcome(ok, ...)
  if ok then return DONE, ... end
  return FAILED, VIOLATION[(...)] or (...)
end
local function call_tail(fn, ...) return fn(...) end
local function worker_loop(...)
  return worker_loop(co_yield(outcome(xpcall(call_tail, on_error, ...))))
end

local pool, npool = {}, 0
local GRAVES, NGRAVES, grave = {}, 1024, 0

--- Keep a handle that will never be resumed from being collected for a while.
function H.bury(h)
  grave = grave % NGRAVES + 1
  GRAVES[grave] = h
end

local function release(h)
  h.R, h.plugin = nil, nil
  npool = npool + 1
  pool[npool] = h
end

-- fn(...) run on the main thread for a handler (H.on_main): (ok, results...)
local function main_call(fn, ...) return pcall(fn, ...) end

-- What H.call and H.resume return.  The first value is true, or the request state
-- table when this call made it (the host keeps it for the request's next calls), or
-- false after an error (then: message, and the state table if this call made it).
-- Then a number (cheaper to hand to Python than the tag strings): 1 DONE (then the
-- results), 2 EXIT, 3 IO (then the handle to resume, the operation and its
-- arguments), 4 a bare yield from plugin code (then the handle).
local function finish(h, ok, tag, ...)
  if tag == MAIN and ok then -- still this request's turn: run it here, go on
    return finish(h, co_resume(h.co, main_call(...)))
  end
  CUR, CUR_PLUGIN, CUR_H = nil, nil, nil
  local first = true
  if h.fresh then
    first, h.fresh = h.R, false
  end
  if tag == DONE and ok then
    release(h)
    return first, 1, ...
  end
  if not ok then -- the coroutine died (an error escaped the worker loop)
    return false, error_text(h.co, tag), first ~= true and first or nil
  end
  if tag == FAILED then
    release(h)
    return false, (...), first ~= true and first or nil
  end
  if tag == EXIT then
    H.bury(h)
    return first, 2, ...
  end
  if tag == IO then
    return first, 3, h, ...
  end
  return first, 4, h  -- a bare coroutine.yield() from plugin code: resumed later
end

--- Run `fn(...)` on the main thread for the running handler and return its results
--- (errors are raised again here): Python functions called there get objects made on
--- the main thread, which may outlive the handler (timers).  Outside a handler's own
--- coroutine, or where it cannot yield, `fn` runs in place.
function H.on_main(fn, ...)
  if CUR_H == nil or not co_isyieldable() then return fn(...) end
  return checked_main(co_yield(MAIN, fn, ...))
end

--- Start `fn(...)` in a coroutine for request state R (false: made on first use;
--- nil: outside requests) and plugin name `plugin`.  Returns as `finish` says.
--- One more each time the host enters Lua (a call, a resume after I/O): like nginx's
--- event-loop iteration, it dates the cached clock of ngx.now (moongate.ngx_time).
H.tick = 0

function H.call(R, plugin, fn, ...)
  local h
  if npool > 0 then
    h = pool[npool]
    pool[npool] = nil
    npool = npool - 1
  else
    h = { co = co_create(worker_loop) }
  end
  h.R, h.plugin = R, plugin
  CUR, CUR_PLUGIN, CUR_H = R, plugin, h
  H.tick = H.tick + 1
  return finish(h, co_resume(h.co, fn, ...))
end

--- Resume a handle after an IO yield with the operation's results.
function H.resume(h, ...)
  CUR, CUR_PLUGIN, CUR_H = h.R, h.plugin, h
  H.tick = H.tick + 1
  return finish(h, co_resume(h.co, ...))
end

--- Call `fn(...)` directly (no coroutine) with R current: for code that cannot yield
--- (schema validators).  R is a state table or nil.
function H.call_direct(R, plugin, fn, ...)
  local prev, prev_plugin, prev_h = CUR, CUR_PLUGIN, CUR_H
  CUR, CUR_PLUGIN, CUR_H = R, plugin, nil
  H.tick = H.tick + 1
  local res = { xpcall(fn, traceback, ...) }
  CUR, CUR_PLUGIN, CUR_H = prev, prev_plugin, prev_h
  return unpack(res, 1, table.maxn(res))
end

---------------------------------------------------------------------------------
-- coroutines for plugin code: host yields (IO, EXIT) pass through a plugin's own
-- coroutines up to the driver, as OpenResty does for its cosockets
---------------------------------------------------------------------------------
local function resume_through(co, ok, tag, ...)
  if ok and (tag == IO or tag == MAIN) and co_status(co) == "suspended" then
    return resume_through(co, co_resume(co, co_yield(tag, ...)))
  end
  if ok and tag == EXIT then
    return H.exit()
  end
  return ok, tag, ...
end

local function plugin_resume(co, ...)
  if type(co) ~= "thread" then
    error("bad argument #1 to 'resume' (coroutine expected)", 2)
  end
  return resume_through(co, co_resume(co, ...))
end

local function wrap_results(ok, ...)
  if not ok then error((...), 2) end
  return ...
end

local function plugin_wrap(fn)
  local co = co_create(fn)
  return function(...) return wrap_results(plugin_resume(co, ...)) end
end

local function new_coroutine_lib()
  return {
    create = co_create, resume = plugin_resume, wrap = plugin_wrap, yield = co_yield,
    status = co_status, running = co_running, isyieldable = co_isyieldable,
  }
end

---------------------------------------------------------------------------------
-- plugin environments
---------------------------------------------------------------------------------
local function copy(t)
  local c = {}
  for k, v in pairs(t) do c[k] = v end
  return c
end

local safe_string = copy(string)
safe_string.dump = nil
local safe_os = { time = os.time, clock = os.clock, date = os.date, difftime = os.difftime }

local function table_getmetatable(o)
  if type(o) == "table" then return getmetatable(o) end
  return nil
end

-- text-only `load`/`loadstring` running in the caller's plugin environment
local function make_load(env)
  local function safe_load(chunk, chunkname, mode, fenv)
    if type(chunk) == "string" and byte(chunk, 1) == 27 then
      return nil, "attempt to load chunk with wrong mode"
    end
    if mode ~= nil and mode ~= "t" then
      return nil, "attempt to load chunk with wrong mode"
    end
    return load(chunk, chunkname, "t", fenv or env)
  end
  local function safe_loadstring(s, chunkname)
    return safe_load(s, chunkname)
  end
  return safe_load, safe_loadstring
end

local BASE = {
  assert = assert, error = error, ipairs = ipairs, next = next, pairs = pairs,
  pcall = pcall, xpcall = xpcall, select = select, tonumber = tonumber, tostring = tostring,
  type = type, unpack = unpack, rawget = rawget, rawset = rawset, rawequal = rawequal,
  setmetatable = setmetatable, getmetatable = table_getmetatable, _VERSION = _VERSION,
  gcinfo = gcinfo,
}

local BUILTIN_MODULES = {}   -- name -> value, LuaJIT built-ins plugins may require
for _, name in ipairs({ "table.new", "table.clear", "string.buffer" }) do
  local ok, m = pcall(real_require, name)
  if ok then BUILTIN_MODULES[name] = m end
end
BUILTIN_MODULES["bit"] = bit

local SHARED_LOADED = {}      -- host-provided modules, loaded once per runtime
local PLUGIN_LOADED = {}      -- kong.plugins.<name>.<module> -> value
local ENVS = {}               -- plugin name -> env
H.envs = ENVS

local HOST_ENV = setmetatable({ H = H }, { __index = _G })

-- "file:line" of the function `level` levels above the caller of this function
local function caller_location(level)
  local info = getinfo(level + 2, "Sl")
  if not info then return "?" end
  local src = info.source
  if sub(src, 1, 1) == "@" or sub(src, 1, 1) == "=" then src = sub(src, 2) end
  return src .. ":" .. (info.currentline or 0)
end

local LOADING = {}

local function load_plugin_module(name, env_for)
  local v = PLUGIN_LOADED[name]
  if v ~= nil then return v end
  if LOADING[name] then
    error("loop or previous error loading module '" .. name .. "'", 3)
  end
  local plugin = name:match("^kong%.plugins%.([^%.]+)%.")
  local src, chunkname = B.plugin_module(name)
  if src == nil then return nil end
  local env = env_for(plugin)
  local fn, err = load(src, chunkname, "t", env)
  if not fn then error(err, 0) end
  LOADING[name] = true
  local ok, res = pcall(fn, name)
  LOADING[name] = nil
  if not ok then error(res, 0) end
  if res == nil then res = true end
  PLUGIN_LOADED[name] = res
  return res
end

local function load_shared_module(name)
  local v = SHARED_LOADED[name]
  if v ~= nil then return v end
  v = BUILTIN_MODULES[name]
  if v ~= nil then return v end
  local src, chunkname = B.host_module(name)
  if src == nil then return nil end
  local fn, err = load(src, chunkname, "t", HOST_ENV)
  if not fn then error(err, 0) end
  if LOADING[name] then
    error("loop loading host module '" .. name .. "'", 0)
  end
  LOADING[name] = true
  local ok, res = pcall(fn, B.module_backing(name), H)
  LOADING[name] = nil
  if not ok then error(res, 0) end
  if res == nil then res = true end
  SHARED_LOADED[name] = res
  return res
end

--- `require` for host modules (shims use it for each other).
function H.require(name)
  local v = load_shared_module(name)
  if v == nil then error("host module '" .. tostring(name) .. "' not found", 2) end
  return v
end

local new_env   -- forward

local function env_for(plugin)
  local env = ENVS[plugin]
  if env == nil then
    env = new_env(plugin)
  end
  return env
end

local function make_require(plugin)
  -- (also used by sandbox.lua, which allows only some of what it resolves)
  return function(name)
    if type(name) ~= "string" then
      error("bad argument #1 to 'require' (string expected, got " .. type(name) .. ")", 2)
    end
    if name == "ngx" then return env_for(plugin).ngx end -- OpenResty has package.loaded.ngx
    local v
    if find(name, "^kong%.plugins%.[^%.]+%.") then
      v = load_plugin_module(name, env_for)
    end
    if v == nil then v = load_shared_module(name) end
    if v == nil then
      error(format("module '%s' not found: Moongate does not provide it (required by plugin '%s' at %s)",
        name, plugin, caller_location(1)), 0)
    end
    return v
  end
end
H.make_require = make_require

local isolation = load(B.lua_file("isolation"), "@moongate/isolation.lua")()
H.view = isolation.view
H.VIEW_MODES = isolation.MODES
isolation.set_on_main(H.on_main)

--- plugin name -> kind of environment (default H.default_env_kind); kind -> builder
local ENV_KIND, ENV_BUILDERS = {}, {}
H.env_kind, H.env_builders, H.default_env_kind = ENV_KIND, ENV_BUILDERS, "trusted"

--- The globals table of plugin `plugin` (created once, shared by its files).
function new_env(plugin)
  local env = ENV_BUILDERS[ENV_KIND[plugin] or H.default_env_kind](plugin)
  ENVS[plugin] = env
  return env
end

-- Globals that modules set when loaded under Lua 5.1 (LuaSocket's `ltn12` and
-- `socket`): plugins use them without requiring them, so a trusted plugin's environment
-- resolves them on first use (then keeps them as plain globals).
local MODULE_GLOBALS = { ltn12 = "ltn12", socket = "socket" }
local MODULE_GLOBALS_MT = {
  __index = function(env, k)
    local name = MODULE_GLOBALS[k]
    if name == nil then return nil end
    local v = load_shared_module(name)
    if v ~= nil then rawset(env, k, v) end
    return v
  end,
}

--- A trusted plugin's globals: the safe base, its own copies of the library tables,
--- `require` for anything the host resolves, views of `kong` and `ngx`, `os.getenv`
--- for the variables the operator declared (moongate.getenv), and the module globals.
function ENV_BUILDERS.trusted(plugin)
  local env = setmetatable(copy(BASE), MODULE_GLOBALS_MT)
  env.string = copy(safe_string)
  env.table = copy(table)
  env.math = copy(math)
  env.os = copy(safe_os)
  env.os.getenv = load_shared_module("moongate.getenv")
  env.io = copy(load_shared_module("moongate.io"))
  env.bit = copy(bit)
  env.coroutine = new_coroutine_lib()
  env.require = make_require(plugin)
  env.load, env.loadstring = make_load(env)
  local seen = {}
  env.kong = H.view(H.kong, "kong", "trusted", seen)
  env.ngx = H.view(H.ngx, "ngx", "trusted", seen)
  env.print = H.print
  env._G = env
  return env
end
H.env_for = env_for

--- Load (once) a plugin module by its Kong name; errors propagate.
function H.load_module(name)
  local v = load_plugin_module(name, env_for)
  if v == nil then error("module '" .. name .. "' not found", 0) end
  return v
end

--- Forget the loaded modules and environment of a plugin (reload).
function H.forget_plugin(plugin)
  local prefix = "kong.plugins." .. plugin .. "."
  for k in pairs(PLUGIN_LOADED) do
    if sub(k, 1, #prefix) == prefix then PLUGIN_LOADED[k] = nil end
  end
  ENVS[plugin] = nil
end

--- Compile host code (tests, tools) in the host environment.
function H.compile(src, chunkname)
  return load(src, chunkname, "t", HOST_ENV)
end

--- Compile code in plugin `plugin`'s environment (tests, pre-function style code).
function H.compile_in(plugin, src, chunkname)
  if byte(src, 1) == 27 then return nil, "attempt to load chunk with wrong mode" end
  return load(src, chunkname, "t", env_for(plugin))
end

--- Compile untrusted code (a pre-function/post-function code string) for plugin
--- `plugin` as the `untrusted_lua` setting says: `off` refuses it (Kong's message),
--- `on` gives it a fresh globals table over the plugin's own; `sandbox` is served by
--- sandbox.lua in a sandboxed runtime.  Returns the function, or nil and the error.
H.untrusted_lua = "sandbox"
H.UNTRUSTED_OFF = "loading of untrusted Lua code disabled because 'untrusted_lua' config option is set to 'off'"
function H.compile_untrusted(plugin, src, chunkname)
  if H.untrusted_lua == "off" then return nil, H.UNTRUSTED_OFF end
  if type(src) ~= "string" then return nil, "expected a string" end
  if byte(src, 1) == 27 then return nil, "attempt to load chunk with wrong mode" end
  if H.untrusted_lua == "on" then
    return load(src, chunkname, "t", setmetatable({}, { __index = env_for(plugin) }))
  end
  return nil, "untrusted_lua = sandbox: untrusted code runs in a sandboxed runtime only"
end

--- Call `handler[phase](handler, conf)`: the shape every handler call has.
function H.phase_call(handler, phase, conf)
  return handler[phase](handler, conf)
end

--- `function(conf) return handler:phase(conf) end`, made once per plugin and phase.
function H.bind_phase(handler, phase)
  return function(conf) return handler[phase](handler, conf) end
end

-- nothing in the runtime can dump bytecode, and lupa's `python` helpers are not
-- reachable even from host code
string.dump = nil
python = nil

return H

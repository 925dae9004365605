-- Moongate's Lua host core.  Loaded once per LuaRuntime, with the runtime's own
-- globals, before anything else; it returns the table `H` the Python side drives.
--
--  * coroutine driver: every handler call runs in a pooled coroutine; a yield tagged
--    IO asks the host to await an operation and resume with its result, a yield
--    tagged EXIT ends the handler (kong.response.exit), DONE returns its results;
--  * environments: each plugin gets its own globals table over a safe base, with
--    fresh copies of the library tables and its own `require`;
--  * `require`: the plugin's own modules (kong.plugins.<name>.*), the modules the
--    host provides (host/lua/lua/modules/*.lua), and LuaJIT built-ins from an allow-list.
local B = ...   -- Python backing functions (host/lua/runtime.py: _Backing)

local co_create, co_resume, co_yield = coroutine.create, coroutine.resume, coroutine.yield
local co_status, co_running, co_isyieldable = coroutine.status, coroutine.running, coroutine.isyieldable
local type, error, pairs, ipairs, select, tostring = type, error, pairs, ipairs, select, tostring
local setmetatable, getmetatable, rawget, rawset = setmetatable, getmetatable, rawget, rawset
local load, pcall, xpcall, unpack = load, pcall, xpcall, unpack
local traceback, getinfo = debug.traceback, debug.getinfo
local find, sub, format, gsub, byte = string.find, string.sub, string.format, string.gsub, string.byte
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

---------------------------------------------------------------------------------
-- coroutine driver
---------------------------------------------------------------------------------
local function call_tail(fn, ...) return fn(...) end
local function worker_loop(...)
  return worker_loop(co_yield(DONE, call_tail(...)))
end

local pool, npool, POOL_MAX = {}, 0, 128

local function error_text(co, err)
  if type(err) ~= "string" then
    if type(err) == "table" and type(rawget(err, "message")) == "string" then
      err = rawget(err, "message")
    else
      err = "(error object is a " .. type(err) .. " value)"
    end
  end
  return traceback(co, err)
end

-- What H.call and H.resume return.  The first value is true, or the request state
-- table when this call made it (the host keeps it for the request's next calls), or
-- false after an error (then: message, and the state table if this call made it).
-- Then a number (cheaper to hand to Python than the tag strings): 1 DONE (then the
-- results), 2 EXIT, 3 IO (then the handle to resume, the operation and its
-- arguments), 4 a bare yield from plugin code (then the handle).
local function finish(h, ok, tag, ...)
  CUR, CUR_PLUGIN, CUR_H = nil, nil, nil
  local first = true
  if h.fresh then
    first, h.fresh = h.R, false
  end
  if not ok then
    return false, error_text(h.co, tag), first ~= true and first or nil
  end
  if tag == DONE then
    h.R, h.plugin = nil, nil
    if npool < POOL_MAX then
      npool = npool + 1
      pool[npool] = h
    end
    return first, 1, ...
  end
  if tag == EXIT then
    return first, 2, ...
  end
  if tag == IO then
    return first, 3, h, ...
  end
  return first, 4, h  -- a bare coroutine.yield() from plugin code: resumed later
end

--- Start `fn(...)` in a coroutine for request state R (false: made on first use;
--- nil: outside requests) and plugin name `plugin`.  Returns as `finish` says.
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
  return finish(h, co_resume(h.co, fn, ...))
end

--- Resume a handle after an IO yield with the operation's results.
function H.resume(h, ...)
  CUR, CUR_PLUGIN, CUR_H = h.R, h.plugin, h
  return finish(h, co_resume(h.co, ...))
end

--- Call `fn(...)` directly (no coroutine) with R current: for code that cannot yield
--- (schema validators).  R is a state table or nil.
function H.call_direct(R, plugin, fn, ...)
  local prev, prev_plugin, prev_h = CUR, CUR_PLUGIN, CUR_H
  CUR, CUR_PLUGIN, CUR_H = R, plugin, nil
  local res = { xpcall(fn, traceback, ...) }
  CUR, CUR_PLUGIN, CUR_H = prev, prev_plugin, prev_h
  return unpack(res, 1, table.maxn(res))
end

---------------------------------------------------------------------------------
-- coroutines for plugin code: host yields (IO, EXIT) pass through a plugin's own
-- coroutines up to the driver, as OpenResty does for its cosockets
---------------------------------------------------------------------------------
local function resume_through(co, ok, tag, ...)
  if ok and tag == IO and co_status(co) == "suspended" then
    return resume_through(co, co_resume(co, co_yield(IO, ...)))
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
  return function(name)
    if type(name) ~= "string" then
      error("bad argument #1 to 'require' (string expected, got " .. type(name) .. ")", 2)
    end
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

--- The globals table of plugin `plugin` (created once, shared by its files).
function new_env(plugin)
  local env = copy(BASE)
  env.string = copy(safe_string)
  env.table = copy(table)
  env.math = copy(math)
  env.os = copy(safe_os)
  env.bit = copy(bit)
  env.coroutine = new_coroutine_lib()
  env.require = make_require(plugin)
  env.load, env.loadstring = make_load(env)
  env.kong = H.kong
  env.ngx = H.ngx
  env.print = H.print
  env._G = env
  ENVS[plugin] = env
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

--- Call `handler[phase](handler, conf)`: the shape every handler call has.
function H.phase_call(handler, phase, conf)
  return handler[phase](handler, conf)
end

--- `function(conf) return handler:phase(conf) end`, made once per plugin and phase.
function H.bind_phase(handler, phase)
  return function(conf) return handler[phase](handler, conf) end
end

-- nothing in the runtime can dump bytecode
string.dump = nil

return H

-- The environments of sandboxed code (loaded by sandbox.lua), from the allow-lists of
-- sandbox_policy.lua: sandboxed plugins (`sandboxed`, the runtime's default kind) and
-- untrusted code strings (H.compile_untrusted under untrusted_lua = sandbox).  Both
-- get read-only views of kong and ngx whose functions refuse values over max_value
-- bytes (strings in the arguments, tables walked), Kong's kong.ctx proxy (plain values
-- only), and a `require` limited to an allow-list.  untrusted_lua_sandbox_environment
-- links more globals in, untrusted_lua_sandbox_requires allows more modules.  A
-- plugin's daos.lua runs in a third, data-only environment (H.sandbox_daos).
local H, S, limits, policy = ...

local error, type, select, next, tostring, pairs, ipairs = error, type, select, next, tostring, pairs, ipairs
local setmetatable, getmetatable, load, pcall = setmetatable, getmetatable, load, pcall
local c_match, c_gmatch, byte, sub, format = string.match, string.gmatch, string.byte, string.sub, string.format
local MAX_VALUE, LIMIT = limits.max_value, S.LIMIT
local s_pcall, s_xpcall, s_resume, s_wrap = S.pcall, S.xpcall, S.resume, S.wrap

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

-- Python reads what is stored in kong.ctx.shared (from the main thread, outside any
-- budget): only plain tables, no metamethods to run there
local debug_getmetatable = debug.getmetatable
local function plain(v, depth)
  if type(v) ~= "table" then return true end
  if depth > 16 or debug_getmetatable(v) ~= nil then return false end
  for k, x in next, v do
    if not plain(k, depth + 1) or not plain(x, depth + 1) then return false end
  end
  return true
end

-- kong.ctx as Kong's sandbox shows it: shared and plugin, values checked on the way in
local function sandbox_ctx()
  local real = H.kong.ctx
  local function proxy(field)
    return setmetatable({}, {
      __index = function(_, k) return real[field][k] end,
      __newindex = function(_, k, v)
        check_value("kong.ctx." .. field, v)
        if not plain(v, 0) then
          error(LIMIT .. "kong.ctx." .. field .. " takes plain tables only (no metatable)", 2)
        end
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
  getmetatable = table_getmetatable, setmetatable = table_setmetatable,
}
for name, fn in pairs(S.strings) do SPECIAL[name] = fn end

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

--- Run a sandboxed (or isolated) plugin's daos.lua, `src`, in a data-only environment
--- and return what it returns (its entity schemas): Kong's `lua` globals, `ngx.null`,
--- and a `require` for the allowed modules (kong.db.schema.typedefs among them) and
--- the plugin's own, which load in its sandboxed environment as usual.  No kong, no
--- other ngx: nothing to reach but data.  The caller runs it under the load budget.
function H.sandbox_daos(plugin, src, chunkname)
  if type(src) ~= "string" or byte(src, 1) == 27 then
    error("daos.lua: attempt to load chunk with wrong mode", 0)
  end
  local env = fill({}, policy.lua)
  local full = H.make_require(plugin)
  local own = "kong.plugins." .. plugin .. "."
  env.require = function(name)
    if type(name) == "string" and (sub(name, 1, #own) == own or ALLOWED[name]) then return full(name) end
    denied(name)
  end
  env.ngx = setmetatable({}, {
    __index = { null = H.null },
    __newindex = function(_, k) error(format(SANDBOX_VIEW.message, "ngx", tostring(k)), 2) end,
    __metatable = false,
  })
  env._G = env
  local fn, err = load(src, chunkname, "t", env)
  if not fn then error(err, 0) end
  return fn(own .. "daos")
end

local core_compile_untrusted = H.compile_untrusted
function H.compile_untrusted(plugin, src, chunkname)
  if H.untrusted_lua ~= "sandbox" then return core_compile_untrusted(plugin, src, chunkname) end
  if type(src) ~= "string" then return nil, "expected a string" end
  if byte(src, 1) == 27 then return nil, "attempt to load chunk with wrong mode" end
  return load(src, chunkname, "t", untrusted_env(plugin))
end

return true

-- kong.tools.sandbox: Kong's entry points for untrusted Lua code held in plugin
-- configurations (http-log's custom_fields_by_lua, pre-function's code strings,
-- request-transformer's templates), following the `untrusted_lua` setting:
--
--  * `off`: every entry point refuses the code with Kong's message;
--  * `on`: the code is compiled over the calling plugin's environment (text only);
--  * `sandbox` (the default): the code runs in a sandboxed runtime, under its CPU
--    budget and memory cap.  In a sandboxed plugin's runtime it is compiled there
--    (H.compile_untrusted in sandbox_env.lua); a trusted plugin gets a function that
--    runs it in the worker's runtime for untrusted code (host/lua/untrusted.py) with
--    the request current, so the PDK works from it and kong.response.exit ends the
--    calling handler.  Its results cross back as data: code that returns a function
--    (pre-function's `return function() ... end`) is refused there.
--
-- `configuration` answers as Kong's does (enabled, sandbox_enabled, requires,
-- env_vars, environment); compiling is always safe, so validate_safe works in every
-- runtime.
local backing, H = ...

local type, error, pcall, setmetatable, rawset, ipairs, pairs, assert =
  type, error, pcall, setmetatable, rawset, ipairs, pairs, assert
local load, byte, match, format, tostring = load, string.byte, string.match, string.format, tostring

local function mode_of() return H.untrusted_lua or "sandbox" end

local function off_message() return H.UNTRUSTED_OFF end

local function denied_require(modname)
  return error(format("require '%s' not allowed within sandbox", tostring(modname)), 0)
end

-- copy `path` ("string.upper", "kong.request") from `from` into `target`
local function link(path, from, target)
  local head, rest = match(path, "^([^%.]+)%.?(.*)$")
  if head == nil then return end
  local value = from[head]
  if value == nil then return end
  if rest == "" then
    target[head] = type(value) == "table" and setmetatable({}, { __index = value }) or value
    return
  end
  if type(target[head]) ~= "table" then target[head] = {} end
  link(rest, value, target[head])
end

local lazy = {
  enabled = function() return mode_of() ~= "off" end,
  sandbox_enabled = function() return mode_of() == "sandbox" end,
  requires = function()
    local names = backing.requires()
    if #names == 0 then return nil end
    local set = {}
    for _, name in ipairs(names) do set[name] = true end
    return set
  end,
  env_vars = function()
    local names = backing.environment()
    if #names == 0 then return nil end
    return names
  end,
  environment = function(self)
    local requires = self.requires
    local env = {
      require = requires and function(modname)
        if not requires[modname] then return denied_require(modname) end
        return H.require(modname)
      end or denied_require,
      kong = H.kong,
      ngx = H.ngx,
    }
    for _, name in ipairs(self.env_vars or {}) do link(name, _G, env) end
    env._G = env
    return env
  end,
  sandbox_mt = function(self) return { __index = self.environment } end,
  global_mt = function() return { __index = _G } end,
}

local fixed = {
  clear = function(t) for k in pairs(t) do t[k] = nil end end,
  err_msg = off_message(),
}
fixed.reload = fixed.clear

local configuration = setmetatable({}, {
  __index = function(self, key)
    local make = lazy[key]
    if make == nil then return fixed[key] end
    local value = make(self)
    rawset(self, key, value)
    return value
  end,
})

local function options(chunkname_or_options, mode, env)
  if type(chunkname_or_options) == "table" then
    local o = chunkname_or_options
    return o.chunkname or o.chunk_name, mode or o.mode, env or o.env
  end
  return chunkname_or_options, mode, env
end

-- what backing.run answers: true and the results, RAISE and a message, or EXIT
local RAISE, EXIT = H.RAISE, H.EXIT
local function ran(tag, ...)
  if tag == RAISE then return error((...), 2) end
  if tag == EXIT then return H.exit() end
  return ...
end

-- why `chunk` may not be compiled at all (nil when it may): text only, never bytecode
local function refused(chunk, mode)
  if mode_of() == "off" then return off_message() end
  if type(chunk) ~= "string" then return "expected a string of Lua code, got " .. type(chunk) end
  if byte(chunk, 1) == 27 or (mode ~= nil and mode ~= "t") then return "attempt to load chunk with wrong mode" end
  return nil
end

-- the compiled chunk, or an error (Kong raises through assert)
local function compile(chunk, chunkname, mode, env)
  local why = refused(chunk, mode)
  if why then return error(why, 0) end
  local untrusted = mode_of()
  local plugin = H.current_plugin()
  if untrusted == "on" then
    local base = H.env_for(plugin or "kong.tools.sandbox")
    local fn, err = load(chunk, chunkname, "t", setmetatable(env or {}, { __index = base }))
    if not fn then return error(err, 0) end
    return fn
  end
  if H.KILL == nil then -- a trusted runtime: the code runs in the runtime for untrusted code
    local ok, err = load(chunk, chunkname, "t", {}) -- (a syntax error is reported here, as Kong does)
    if not ok then return error(err, 0) end
    return function() return ran(backing.run(plugin, chunk, chunkname)) end
  end
  local fn, err = H.compile_untrusted(plugin, chunk, chunkname)
  if not fn then return error(err, 0) end
  return fn
end

local function sandbox(chunk, chunkname_or_options, mode, env)
  return compile(chunk, options(chunkname_or_options, mode, env))
end

local function sandbox_chunk(chunk, chunkname) return compile(chunk, chunkname) end

local function validate_function(chunk, chunkname_or_options, mode, env)
  local ok, compiled = pcall(sandbox, chunk, chunkname_or_options, mode, env)
  if not ok then return false, "Error parsing function: " .. tostring(compiled) end
  local success, fn = pcall(compiled)
  if not success then return false, fn end
  if type(fn) == "function" then return fn end
  return false, "Bad return value from function, expected function type, got " .. type(fn)
end

local function validate(chunk, chunkname_or_options, mode, env)
  local _, err = validate_function(chunk, chunkname_or_options, mode, env)
  if err then return false, err end
  return true
end

-- for schemas: the code is compiled, never run
local function validate_safe(chunk, chunkname_or_options, mode)
  local chunkname, m = options(chunkname_or_options, mode)
  local why = refused(chunk, m)
  if why then return false, "Error parsing function: " .. why end
  local fn, err = load(chunk, chunkname, "t", {})
  if not fn then return false, "Error parsing function: " .. tostring(err) end
  return true
end

return {
  validate = validate,
  validate_safe = validate_safe,
  validate_function = validate_function,
  sandbox = sandbox,
  sandbox_lua = sandbox_chunk,
  sandbox_schema = sandbox_chunk,
  sandbox_handler = sandbox_chunk,
  parse = function(...) return assert(validate_function(...)) end,
  configuration = configuration,
}

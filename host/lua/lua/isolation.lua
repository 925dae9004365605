-- Read-only views of the tables every plugin of a runtime shares: `kong` and `ngx`.
--
-- Each plugin environment gets its own view of each table (core.lua, new_env): an
-- empty table whose metatable reads through to a shadow copy of the real table's
-- fields (functions and values as they are, sub-tables as views of their own) and,
-- for fields that appear later or are computed (ngx.status, ngx.var.uri, kong.ctx),
-- to the real table.  Writing a field of a view raises an error, so one plugin cannot
-- replace kong.response.exit or add ngx.foo for every other plugin.  Writes the host
-- accepts (ngx.status, ngx.ctx, ngx.var.*, ngx.header.*, ngx.arg[1]) go to the real
-- table, whose own metamethods handle them; a write that would have stored a plain
-- field there is undone and refused.  Reads cost two table lookups more (all
-- `__index` tables: compiled by the JIT).
--
-- Methods (functions whose first parameter is `self`, e.g. cluster_events:subscribe)
-- are called with the real object when a view stands in for it.  Objects that protect
-- themselves (a `__metatable` field and no fields of their own, e.g. a shared dict)
-- are handed out as they are.
--
-- Loaded once per runtime by core.lua with the runtime's real globals; returns `view`.
local next, type, rawget, rawset, setmetatable, error, tostring = next, type, rawget, rawset, setmetatable, error, tostring
local pcall, format, find, sub = pcall, string.format, string.find, string.sub
local debug_getmetatable, getlocal, getinfo = debug.getmetatable, debug.getlocal, debug.getinfo

--- How views of one kind behave: `message` formats the error for a refused write
--- (name, key); `wrap(fn, name)` (optional) replaces each function; `check(name, value)`
--- (optional) vets a value written through to the real table.
local MODES = {
  trusted = { message = "Cannot modify %s.%s: the kong and ngx tables are read-only" },
  sandbox = { message = "Cannot modify %s.%s. Protected by the sandbox." },
}

--- Functions that keep what they are given beyond the handler (a timer's callback):
--- called through `on_main` (core.lua sets it: H.on_main), see core.lua's driver notes.
local ON_MAIN = { ["ngx.timer.at"] = true, ["ngx.timer.every"] = true }
local on_main = nil

local function self_protected(t, mt)
  return mt ~= nil and rawget(mt, "__metatable") ~= nil and next(t) == nil
end

local function is_method(fn)
  return getlocal(fn, 1) == "self"
end

local view -- forward

local function assign(t, k, v) t[k] = v end

-- an error the real table's __newindex raised, as if the assignment had raised it: the
-- host's messages point one level up, which is this file once a view is in between
local HERE = "moongate/isolation.lua:"
local function relocated(err)
  if type(err) == "string" and sub(err, 1, #HERE) == HERE then
    local info = getinfo(3, "Sl")
    local colon = find(err, ": ", #HERE, true)
    if info and colon then
      return info.short_src .. ":" .. (info.currentline or 0) .. ": " .. sub(err, colon + 2)
    end
  end
  return err
end

local function method_of(fn, real, proxy)
  return function(self, ...)
    if self == proxy then self = real end
    return fn(self, ...)
  end
end

--- A read-only view of `real` named `name` (for messages), of kind `mode`.
--- `seen` maps real tables to their views while one environment is built.
function view(real, name, mode, seen)
  local done = seen[real]
  if done then return done end
  local rmt = debug_getmetatable(real)
  if self_protected(real, rmt) then return real end
  local opts = MODES[mode] or mode
  local proxy, shadow = {}, {}
  seen[real] = proxy
  local wrap = opts.wrap
  for k, v in next, real do
    local kind = type(v)
    if kind == "table" and type(k) == "string" then
      shadow[k] = view(v, name .. "." .. k, mode, seen)
    elseif kind == "function" then
      local fname = name .. "." .. tostring(k)
      if is_method(v) then v = method_of(v, real, proxy) end
      if ON_MAIN[fname] and on_main then
        local fn = v
        v = function(...) return on_main(fn, ...) end
      end
      if wrap then v = wrap(v, fname) end
      shadow[k] = v
    else
      shadow[k] = v
    end
  end
  setmetatable(shadow, { __index = real })

  local message, check = opts.message, opts.check
  local dynamic = rmt ~= nil and rmt.__newindex ~= nil
  local vmt = {
    __index = shadow,
    __metatable = false,
    __newindex = function(_, k, v)
      if not dynamic or rawget(real, k) ~= nil then
        error(format(message, name, tostring(k)), 2)
      end
      if check then check(name .. "." .. tostring(k), v) end
      local ok, err = pcall(assign, real, k, v)
      if not ok then error(relocated(err), 0) end
      if rawget(real, k) ~= nil then -- a plain field was added: not the host's to keep
        rawset(real, k, nil)
        error(format(message, name, tostring(k)), 2)
      end
    end,
  }
  if rmt ~= nil and rmt.__call ~= nil then
    vmt.__call = function(_, ...) return real(...) end
  end
  if rmt ~= nil and rmt.__tostring ~= nil then
    vmt.__tostring = function() return tostring(real) end
  end
  return setmetatable(proxy, vmt)
end

return {
  MODES = MODES,
  set_on_main = function(fn) on_main = fn end,
  --- view(real, name, mode): `mode` is "trusted", "sandbox" or a table like MODES'.
  view = function(real, name, mode, seen) return view(real, name, mode or "trusted", seen or {}) end,
}

-- `kong.tools.module`: load_module_if_exists (kong/tools/module.lua), also exported
-- by kong.tools.utils for plugins written for Kong 2.x.  The module is required
-- with the caller's own `require` (its plugin's modules, then the host's).
local _, H = ...
local getfenv, pcall, xpcall, type, error, tostring = getfenv, pcall, xpcall, type, error, tostring
local rawget, find, traceback, getinfo = rawget, string.find, debug.traceback, debug.getinfo

local _M = {}

-- host code has no plugin `require`: host modules only (never the real `require`)
local function host_require(name)
  local ok, v = pcall(H.require, name)
  if not ok then error("module '" .. tostring(name) .. "' not found", 2) end
  return v
end

--- true, module when `name` loads; false, message when it does not exist; raises
--- when it exists but fails to load.
function _M.load_module_if_exists(name)
  -- the caller's environment; after a tail call, the running plugin's
  local info = getinfo(2, "f")
  local env = info and info.func and getfenv(info.func)
  if env == nil or env == _G then
    local plugin = H.current_plugin()
    env = plugin and H.envs[plugin]
  end
  local req = type(env) == "table" and rawget(env, "require")
  if type(req) ~= "function" then req = host_require end
  local loaded, res = xpcall(req, traceback, name)
  if loaded then
    return true, res
  end
  if type(res) == "string" and find(res, "module '" .. tostring(name) .. "' not found", 1, true) then
    return false, res
  end
  error("error loading module '" .. tostring(name) .. "':\n" .. tostring(res))
end

return _M

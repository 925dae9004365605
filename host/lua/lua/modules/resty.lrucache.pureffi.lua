-- `resty.lrucache.pureffi`: the same cache as resty.lrucache (see there), with the
-- pureffi variant's behaviour: `new(size, load_factor?)` (the load factor tunes
-- the original's FFI hash table and is accepted and ignored here) and keys
-- converted with tostring, so 1 and "1" are the same key.
local _, H = ...
local type, tostring, setmetatable = type, tostring, setmetatable

local base = H.require("resty.lrucache")

local _M = setmetatable({ _VERSION = "0.13" }, { __index = base })
local mt = { __index = _M }

local function str(key)
  if type(key) ~= "string" then return tostring(key) end
  return key
end

function _M.new(size, load_factor)
  local cache, err = base.new(size)
  if not cache then
    return nil, err
  end
  return setmetatable(cache, mt)
end

function _M.get(self, key) return base.get(self, str(key)) end
function _M.set(self, key, value, ttl, flags) return base.set(self, str(key), value, ttl, flags) end
function _M.delete(self, key) return base.delete(self, str(key)) end

return _M

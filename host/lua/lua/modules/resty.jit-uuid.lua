-- resty.jit-uuid (thibaultcha/lua-resty-jit-uuid): `uuid()` / `generate_v4()` (random,
-- from the OS's CSPRNG like kong.tools.uuid), `is_valid(str)` (any version, dashes,
-- RFC 4122 variant, case-insensitive), name-based `generate_v3` / `generate_v5` and
-- their `factory_v3` / `factory_v5`, and `seed()` (kept for callers: the random
-- source needs no seed).
local backing, H = ...

local type, setmetatable = type, setmetatable
local match, rep = string.match, string.rep
local v4 = H.require("kong.tools.uuid").uuid

local _M = { _VERSION = "0.0.7" }

local HEX = "[0-9a-fA-F]"
local PATTERN = "^" .. rep(HEX, 8) .. "%-" .. rep(HEX, 4) .. "%-" .. rep(HEX, 4) .. "%-[89abAB]"
  .. rep(HEX, 3) .. "%-" .. rep(HEX, 12) .. "$"

function _M.is_valid(str)
  return type(str) == "string" and #str == 36 and match(str, PATTERN) ~= nil
end

function _M.seed(seed)
  return seed or 0
end

function _M.generate_v4()
  return v4()
end

local function factory(hash)
  return function(namespace)
    if not _M.is_valid(namespace) then return nil, "namespace must be a valid UUID" end
    return function(name)
      if type(name) ~= "string" then return nil, "name must be a string" end
      return hash(namespace, name)
    end
  end
end

_M.factory_v3 = factory(backing.v3)
_M.factory_v5 = factory(backing.v5)

function _M.generate_v3(namespace, name)
  local make, err = _M.factory_v3(namespace)
  if not make then return nil, err end
  return make(name)
end

function _M.generate_v5(namespace, name)
  local make, err = _M.factory_v5(namespace)
  if not make then return nil, err end
  return make(name)
end

return setmetatable(_M, { __call = function() return v4() end })

-- resty.openssl.digest (lua-resty-openssl): d = digest.new(name?) (default "sha1",
-- OpenSSL's names, case-insensitive), d:update(s, ...), d:final(s?) -> raw digest,
-- d:reset(), digest.istype(d).  Errors are returned as `nil, err` like the library's.
-- As the library documents, reset() must be called before an object is used again
-- after final(): until then update() and final() return `false/nil, err`.
--
-- An object is a Lua table of closures: update() collects chunks in Lua and final()
-- hashes them in one crossing (host/lua/modules/resty_openssl_digest.py).  Objects of
-- this module, resty.openssl.hmac and resty.openssl.mac are made by H.openssl_object;
-- H.openssl_digest_input(d) gives pkey:sign / pkey:verify a digest's name and data.
local B, H = ...

local type, select, error, tostring, setmetatable, format =
  type, select, error, tostring, setmetatable, string.format
local concat = table.concat
local py_name, py_digest, py_hmac = B.name, B.digest, B.hmac

-- chunks kept before update() folds them into one string
local MAX_PARTS = 64

-- object -> function returning (kind, algorithm, data so far, finalized); weak keys
local INPUTS = setmetatable({}, { __mode = "k" })

local NAMES = {}   -- OpenSSL name as given -> hashlib name (false: unknown)

--- The hashlib name of an OpenSSL digest name, or nil.
local function algorithm(name)
  local known = NAMES[name]
  if known == nil then
    known = py_name(name) or false
    NAMES[name] = known
  end
  return known or nil
end
H.openssl_algorithm = algorithm

--- A digest/MAC object: `kind` is "digest", "hmac" or "mac" (the prefix of its error
-- messages); `key` is nil for a digest.
local function new_object(kind, algo, key)
  local parts, n, finalized = {}, 0, false
  local obj = {}

  local function data()
    if n > 1 then
      parts = { concat(parts, "", 1, n) }
      n = 1
    end
    return parts[1] or ""
  end

  function obj.update(_, ...)
    if finalized then
      return false, kind .. ":update: final() was called, call reset() first"
    end
    for i = 1, select("#", ...) do
      local s = select(i, ...)
      if type(s) ~= "string" then
        error(format("bad argument #%d to 'update' (string expected, got %s)", i, type(s)), 2)
      end
      n = n + 1
      parts[n] = s
      if n >= MAX_PARTS then data() end
    end
    return true, nil
  end

  function obj.final(_, s)
    if finalized then
      return nil, kind .. ":final: final() was called, call reset() first"
    end
    if s ~= nil then
      if type(s) ~= "string" then
        error("bad argument #1 to 'final' (string expected, got " .. type(s) .. ")", 2)
      end
      n = n + 1
      parts[n] = s
    end
    finalized = true
    if key then return py_hmac(algo, key, data()) end
    return py_digest(algo, data())
  end

  function obj.reset()
    parts, n, finalized = {}, 0, false
    return true, nil
  end

  INPUTS[obj] = function() return kind, algo, data(), finalized end
  return obj
end
H.openssl_object = new_object

--- The kind ("digest", "hmac", "mac") of an object made here, or nil.
local function kind_of(obj)
  local input = type(obj) == "table" and INPUTS[obj]
  return input and (input()) or nil
end
H.openssl_kind = kind_of

--- For pkey: the (algorithm, data, finalized) of a digest object, or nil.
function H.openssl_digest_input(d)
  if kind_of(d) ~= "digest" then return nil end
  local _, algo, data, finalized = INPUTS[d]()
  return algo, data, finalized
end

local _M = { _VERSION = "1.9.0" }

function _M.new(name, _properties)
  if name ~= nil and type(name) ~= "string" then
    return nil, format('digest.new: invalid digest type "%s"', tostring(name))
  end
  local algo = algorithm(name or "sha1")
  if not algo then
    return nil, format('digest.new: invalid digest type "%s"', name)
  end
  return new_object("digest", algo), nil
end

function _M.istype(d)
  return kind_of(d) == "digest"
end

return _M

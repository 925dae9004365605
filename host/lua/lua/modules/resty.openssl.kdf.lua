-- resty.openssl.kdf (lua-resty-openssl): key derivation.
--   k, err = kdf.new("PBKDF2" | "HKDF" | "SCRYPT");  key, err = k:derive(outlen, params)
--     params use OpenSSL 3's names: PBKDF2 pass, salt, iter (2048), digest ("sha1");
--     HKDF key, salt, info, digest, mode; SCRYPT pass, salt, n, r, p, maxmem_bytes
--   key, err = kdf.derive({ type = kdf.PBKDF2 | kdf.HKDF | kdf.SCRYPT, outlen, pass, salt,
--     md, pbkdf2_iter, hkdf_key, hkdf_mode, hkdf_info, scrypt_N, scrypt_r, scrypt_p })
-- k:reset() and kdf.istype(k) as in the library; TLS1-PRF and the other OpenSSL 3 KDFs
-- return nil, err.  The derivation is one crossing (host/lua/modules/resty_openssl_kdf.py).
local B = ...
local type, tostring, setmetatable, upper, format =
  type, tostring, setmetatable, string.upper, string.format
local py_derive = B.derive

local KDFS = setmetatable({}, { __mode = "k" })

local _M = {
  HKDEF_MODE_EXTRACT_AND_EXPAND = 0,
  HKDEF_MODE_EXTRACT_ONLY = 1,
  HKDEF_MODE_EXPAND_ONLY = 2,
  -- OpenSSL's NIDs
  PBKDF2 = 69,
  SCRYPT = 973,
  TLS1_PRF = 1021,
  HKDF = 1036,
}

local SUPPORTED = { PBKDF2 = "PBKDF2", HKDF = "HKDF", SCRYPT = "SCRYPT" }
local BY_NID = { [69] = "PBKDF2", [973] = "SCRYPT", [1036] = "HKDF" }

function _M.new(name, _properties)
  local kind = type(name) == "string" and SUPPORTED[upper(name)]
  if not kind then
    return nil, format('kdf.new: invalid kdf type "%s"', tostring(name))
  end
  local k = {}
  function k.derive(_, outlen, params)
    if params ~= nil and type(params) ~= "table" then
      return nil, "kdf:derive: expect a table at #2"
    end
    return py_derive(kind, outlen, params or {})
  end
  function k.reset() return true end
  KDFS[k] = true
  return k, nil
end

function _M.istype(k)
  return type(k) == "table" and KDFS[k] == true
end

--- The legacy one-call form.
function _M.derive(options)
  if type(options) ~= "table" then return nil, "kdf.derive: expect a table at #1" end
  local typ = options.type
  if typ == nil then return nil, 'kdf.derive: "type" must be set' end
  if type(typ) ~= "number" then return nil, 'kdf.derive: expect a number as "type"' end
  local kind = BY_NID[typ]
  if not kind then
    return nil, format("kdf.derive: unknown type %d", typ)
  end
  if options.outlen == nil and not (kind == "HKDF" and options.hkdf_mode == 1) then
    return nil, 'kdf.derive: "outlen" must be set'
  end
  local params
  if kind == "PBKDF2" then
    params = { pass = options.pass, salt = options.salt, digest = options.md or "sha1",
               iter = options.pbkdf2_iter or 1 }
  elseif kind == "HKDF" then
    if options.hkdf_key == nil then return nil, 'kdf.derive: "hkdf_key" must be set' end
    params = { key = options.hkdf_key, salt = options.salt, info = options.hkdf_info,
               digest = options.md or "sha1", mode = options.hkdf_mode }
  else
    params = { pass = options.pass, salt = options.salt, n = options.scrypt_N,
               r = options.scrypt_r, p = options.scrypt_p, maxmem_bytes = options.scrypt_maxmem }
  end
  local key, err = py_derive(kind, options.outlen, params)
  if key == nil then return nil, "kdf.derive: " .. tostring(err) end
  return key
end

return _M

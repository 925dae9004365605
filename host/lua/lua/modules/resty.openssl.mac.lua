-- resty.openssl.mac (lua-resty-openssl, OpenSSL 3's EVP_MAC API): m = mac.new(key,
-- "HMAC", nil, digest_name), m:update(s, ...), m:final(s?) -> raw MAC, m:reset(),
-- mac.istype(m).  Errors are returned as `nil, err`.  HMAC is the MAC Moongate
-- provides (the one Kong's plugins use: hmac-auth, jwt, standard-webhooks); CMAC,
-- GMAC, KMAC, Poly1305 and SipHash return `nil, err`.  Objects are built by
-- resty.openssl.digest (H.openssl_object): chunks are collected in Lua and the MAC is
-- computed at final() in one crossing.
local _, H = ...
H.require("resty.openssl.digest")

local type, tostring, format, error, upper =
  type, tostring, string.format, error, string.upper
local new_object, algorithm, kind_of = H.openssl_object, H.openssl_algorithm, H.openssl_kind

-- the other EVP_MAC algorithms OpenSSL 3 knows
local OTHER_MACS = { CMAC = true, GMAC = true, KMAC128 = true, KMAC256 = true,
                     POLY1305 = true, SIPHASH = true, BLAKE2BMAC = true, BLAKE2SMAC = true }

local _M = { _VERSION = "1.9.0" }

function _M.new(key, typ, _cipher, digest, _properties)
  if type(key) ~= "string" then
    error("bad argument #1 to 'new' (string expected, got " .. type(key) .. ")", 2)
  end
  local mac_type = type(typ) == "string" and upper(typ) or nil
  if mac_type ~= "HMAC" then
    if OTHER_MACS[mac_type] then
      return nil, format('mac.new: mac type "%s" is not available in Moongate (HMAC is)', typ)
    end
    return nil, format('mac.new: invalid mac type "%s"', tostring(typ))
  end
  local algo = type(digest) == "string" and algorithm(digest)
  if not algo or algo == "null" then
    return nil, "mac.new: invalid cipher or digest type"
  end
  return new_object("mac", algo, key), nil
end

function _M.istype(m)
  return kind_of(m) == "mac"
end

return _M

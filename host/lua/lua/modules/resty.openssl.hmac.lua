-- resty.openssl.hmac (lua-resty-openssl, OpenSSL's HMAC_CTX API): h = hmac.new(key,
-- digest_name?) (default "sha1"), h:update(s, ...), h:final(s?) -> raw MAC,
-- h:reset(), hmac.istype(h).  Errors are returned as `nil, err`.  Objects are built
-- by resty.openssl.digest (H.openssl_object): chunks are collected in Lua and the
-- MAC is computed at final() in one crossing.
local _, H = ...
H.require("resty.openssl.digest")

local type, tostring, format, error = type, tostring, string.format, error
local new_object, algorithm, kind_of = H.openssl_object, H.openssl_algorithm, H.openssl_kind

local _M = { _VERSION = "1.9.0" }

function _M.new(key, name)
  if type(key) ~= "string" then
    error("bad argument #1 to 'new' (string expected, got " .. type(key) .. ")", 2)
  end
  local algo = type(name) == "string" and algorithm(name) or (name == nil and algorithm("sha1"))
  if not algo or algo == "null" then
    return nil, format('hmac.new: invalid digest type "%s"', tostring(name))
  end
  return new_object("hmac", algo, key), nil
end

function _M.istype(h)
  return kind_of(h) == "hmac"
end

return _M

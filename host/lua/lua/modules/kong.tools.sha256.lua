-- `kong.tools.sha256`: SHA-256 digests of a string as raw bytes, hex, base64 and
-- unpadded base64url (kong/tools/sha256.lua), computed by Python's hashlib.
local B = ...
local type, tostring, error = type, tostring, error

local _M = {}

local function wrap(pyfn, name)
  return function(key)
    if key == nil then
      key = ""   -- resty.openssl's digest:final(nil): the digest of nothing
    elseif type(key) ~= "string" then
      if type(key) == "number" then
        key = tostring(key)
      else
        error("bad argument #1 to '" .. name .. "' (string expected, got " .. type(key) .. ")", 2)
      end
    end
    return pyfn(key)
  end
end

_M.sha256_bin = wrap(B.sha256_bin, "sha256_bin")
_M.sha256_hex = wrap(B.sha256_hex, "sha256_hex")
_M.sha256_base64 = wrap(B.sha256_base64, "sha256_base64")
_M.sha256_base64url = wrap(B.sha256_base64url, "sha256_base64url")

return _M

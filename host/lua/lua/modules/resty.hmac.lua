-- resty.hmac (jkeys089/lua-resty-hmac): `hmac:new(key, hmac.ALGOS.SHA256)` (MD5 when
-- no algorithm is given), `:update(s)`, `:final(s?, hex_output?)`, `:reset()`.  Built
-- on resty.openssl.hmac; `ALGOS` holds digest names where the original holds EVP
-- pointers (plugins only pass them back to `new`).
local _, H = ...

local setmetatable, type = setmetatable, type
local openssl_hmac = H.require "resty.openssl.hmac"
local to_hex = H.require("resty.string").to_hex

local _M = { _VERSION = "0.06" }
local mt = { __index = _M }

_M.ALGOS = { MD5 = "md5", SHA1 = "sha1", SHA256 = "sha256", SHA384 = "sha384", SHA512 = "sha512" }

function _M.new(_, key, algo)
  if type(key) ~= "string" then return nil end
  local algorithm = algo or "md5"
  local ctx = openssl_hmac.new(key, algorithm)
  if not ctx then return nil end
  return setmetatable({ _ctx = ctx, _key = key, _algo = algorithm }, mt)
end

function _M.update(self, s)
  return self._ctx:update(s) ~= nil
end

function _M.final(self, s, hex_output)
  if s ~= nil and not self._ctx:update(s) then return nil end
  local digest = self._ctx:final()
  if digest == nil then return nil end
  self._ctx = openssl_hmac.new(self._key, self._algo) -- ready for the next message, as HMAC_Final leaves it
  if hex_output == true then return to_hex(digest) end
  return digest
end

function _M.reset(self)
  self._ctx = openssl_hmac.new(self._key, self._algo)
  return self._ctx ~= nil
end

return _M

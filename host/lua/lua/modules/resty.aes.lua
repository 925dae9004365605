-- resty.aes (lua-resty-string): `aes:new(key, salt?, cipher?, hash?, hash_rounds?,
-- iv_len?, enable_padding?)`.  The key and iv come from EVP_BytesToKey(hash, salt,
-- key, rounds) (defaults: aes.cipher(128, "cbc"), aes.hash.md5, 1 round; the salt is 8
-- characters or nil), or as given when `hash` is a table `{ iv = ... }` (a raw key).
-- `:encrypt(s)` -> ciphertext (GCM: ciphertext, tag); `:decrypt(s, tag?)` -> plaintext
-- | nil, err.  `aes.cipher(size, mode)`, `aes.hash.<md5|sha1|sha224|sha256|sha384|sha512>`.
local backing, H = ... -- (the Python half of resty.openssl.cipher: host/lua/modules/resty_aes.py)
local setmetatable, type, tostring = setmetatable, type, tostring
local B = H.require "resty.openssl.cipher"

local _M = { _VERSION = "0.16" }
local mt = { __index = _M }

_M.hash = { md5 = "md5", sha1 = "sha1", sha224 = "sha224", sha256 = "sha256", sha384 = "sha384", sha512 = "sha512" }

function _M.cipher(size, mode)
  size, mode = size or 128, mode or "cbc"
  return { size = size, cipher = mode, method = "aes-" .. tostring(size) .. "-" .. mode }
end

function _M.new(self, key, salt, cipher, hash, hash_rounds, iv_len, enable_padding)
  cipher = cipher or _M.cipher(128, "cbc")
  local name = cipher.method
  local c, err = B.new(name)
  if not c then return nil, err end
  if salt ~= nil and #salt ~= 8 then return nil, "salt must be 8 characters or nil" end
  local k, iv
  if type(hash) == "table" then
    if not hash.iv then return nil, "iv is needed" end
    k, iv = key, hash.iv
    if iv_len and #iv ~= iv_len then return nil, "bad iv length" end
  else
    k, iv = backing.derive(name, hash or "md5", salt, key, hash_rounds or 1)
    if not k then return nil, iv end
  end
  return setmetatable({ _c = c, _key = k, _iv = iv, _pad = enable_padding ~= false, _gcm = cipher.cipher == "gcm" }, mt)
end

function _M.encrypt(self, s)
  local out = self._c:encrypt(self._key, self._iv, s, not self._pad)
  if out and self._gcm then return out, self._c:get_aead_tag() end
  return out
end

function _M.decrypt(self, s, tag)
  local out, err = self._c:decrypt(self._key, self._iv, s, not self._pad, nil, tag)
  if out == nil then return nil, err end
  return out
end

return _M

-- resty.openssl.cipher (fffonion/lua-resty-openssl), AES ciphers:
--   c, err = cipher.new("aes-256-cbc")   (ecb, cbc, cfb, cfb8, ofb, ctr, gcm; 128/192/256)
--   c:encrypt(key, iv, s, no_padding?, aead_aad?) -> ciphertext | nil, err
--   c:decrypt(key, iv, s, no_padding?, aead_aad?, aead_tag?) -> plaintext | nil, err
--   c:init(key, iv, { is_encrypt = true, no_padding = false }), c:update(...), c:final(s?)
--   c:get_aead_tag(size?), c:set_aead_tag(tag), c:update_aead_aad(aad)
--   c:derive(key, salt?, count?, md?) -> key, iv (EVP_BytesToKey), cipher.istype(c)
--   c:get_block_size(), c:get_key_length(), c:get_iv_length()
-- The work is done in one go at final (update returns ""), so streamed output comes
-- out at the end; the bytes are OpenSSL's.
local B = ...
local setmetatable, type, tostring, concat, sub = setmetatable, type, tostring, table.concat, string.sub
local sizes, run, derive = B.sizes, B.run, B.derive

local _M = {}
local mt = { __index = _M }

function _M.new(name)
  if type(name) ~= "string" then return nil, "cipher.new: expect type to be defined" end
  local key_len, iv_len, block = sizes(name)
  if key_len == nil then return nil, "cipher.new: " .. iv_len end
  return setmetatable({ name = name, key_len = key_len, iv_len = iv_len, block = block }, mt), nil
end

function _M.istype(c)
  return type(c) == "table" and getmetatable(c) == mt
end

function _M.get_block_size(self) return self.block end
function _M.get_key_length(self) return self.key_len end
function _M.get_iv_length(self) return self.iv_len end

local function one_shot(self, encrypting, key, iv, s, no_padding, aad, tag)
  local out, made = run(self.name, encrypting, key, iv, s, not no_padding, aad, tag)
  if out == nil then
    return nil, (encrypting and "cipher:encrypt: " or "cipher:decrypt: ") .. tostring(made)
  end
  if made then self.tag = made end
  return out
end

function _M.encrypt(self, key, iv, s, no_padding, aead_aad)
  return one_shot(self, true, key, iv, s, no_padding, aead_aad, nil)
end

function _M.decrypt(self, key, iv, s, no_padding, aead_aad, aead_tag)
  return one_shot(self, false, key, iv, s, no_padding, aead_aad, aead_tag)
end

function _M.init(self, key, iv, opts)
  opts = opts or {}
  self.key, self.iv, self.parts, self.aad = key, iv, {}, nil
  self.encrypting = opts.is_encrypt ~= false
  self.no_padding = opts.no_padding
  return true
end

function _M.update(self, ...)
  if not self.parts then return nil, "cipher:update: cipher not initalized, call cipher:init first" end
  for i = 1, select("#", ...) do self.parts[#self.parts + 1] = select(i, ...) end
  return ""
end

function _M.update_aead_aad(self, aad)
  self.aad = (self.aad or "") .. aad
  return true
end

function _M.set_aead_tag(self, tag)
  self.tag = tag
  return true
end

function _M.get_aead_tag(self, size)
  if not self.tag then return nil, "cipher:get_aead_tag: no tag: encrypt with an AEAD cipher first" end
  return size and sub(self.tag, 1, size) or self.tag
end

function _M.final(self, s)
  if not self.parts then return nil, "cipher:final: cipher not initalized, call cipher:init first" end
  if s then self.parts[#self.parts + 1] = s end
  local data = concat(self.parts)
  self.parts = nil
  return one_shot(self, self.encrypting, self.key, self.iv, data, self.no_padding, self.aad, self.tag)
end

function _M.derive(self, key, salt, count, md)
  local k, iv = derive(self.name, md or "sha1", salt, key, count or 1)
  if k == nil then return nil, "cipher:derive: " .. tostring(iv) end
  return k, iv
end

return _M

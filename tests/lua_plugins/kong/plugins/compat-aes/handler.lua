-- Test plugin: decrypts the stored password (resty.aes, key from the secret file) and
-- sends Basic credentials upstream; X-Stored shows the password as stored.
local aes = require "resty.aes"

local Handler = { PRIORITY = 900, VERSION = "1.0.0" }

function Handler:access(conf)
  local _, salt, encrypted = conf.password:match("^(AES),([^,]+),(.+)$")
  local f = assert(io.open(conf.secret_file, "rb"))
  local secret = f:read("*a")
  f:close()
  local cipher = assert(aes:new(secret, ngx.decode_base64(salt), aes.cipher(256, "cbc"), aes.hash.sha512, 5))
  local password = assert(cipher:decrypt(ngx.decode_base64(encrypted)))
  kong.service.request.set_header("Authorization", "Basic " .. ngx.encode_base64(conf.username .. ":" .. password))
  kong.service.request.set_header("X-Stored", conf.password)
end

return Handler

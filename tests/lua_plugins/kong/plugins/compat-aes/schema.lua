-- Test plugin: the password in the configuration is encrypted by the schema's record
-- validator, in place (as upstream-basic-auth-encrypted does), with a key read from a
-- file (io.open) and resty.aes.
local aes = require "resty.aes"

local function encrypt_password(config)
  if config.password:sub(1, 4) == "AES," then return true end
  local f = assert(io.open(config.secret_file, "rb"))
  local secret = f:read("*a")
  f:close()
  local salt = "8charsal"
  local cipher = assert(aes:new(secret, salt, aes.cipher(256, "cbc"), aes.hash.sha512, 5))
  config.password = "AES," .. ngx.encode_base64(salt) .. "," .. ngx.encode_base64(cipher:encrypt(config.password))
  return true
end

return {
  name = "compat-aes",
  fields = {
    { config = {
        type = "record",
        fields = {
          { username = { type = "string", required = true } },
          { password = { type = "string", required = true } },
          { secret_file = { type = "string", required = true } },
        },
        custom_validator = encrypt_password,
    } },
  },
}

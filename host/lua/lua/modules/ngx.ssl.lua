-- ngx.ssl (lua-resty-core) for Moongate: the client's TLS connection, as Kong's plugins
-- read it (`require("ngx.ssl").server_name()` in a certificate handler).
--
-- The facts come from the TLS listener through the Python half
-- (host/lua/modules/ngx_ssl.py).  Choosing or changing the certificate from Lua is not
-- possible: Moongate picks it from the declarative config (certificates and snis)
-- before the certificate phase runs, so the functions that would set one answer
-- `nil, err` saying so, instead of failing with "attempt to call a nil value".
local B, H = ...
local wrap = H.wrap

local _M = {}

for _, name in ipairs({
  "server_name", "server_port", "raw_server_addr", "raw_client_addr",
  "get_tls1_version", "get_tls1_version_str",
}) do
  _M[name] = wrap(B[name])
end

local function unsupported(name, why)
  local message = "ngx.ssl." .. name .. " is not supported by Moongate: " .. why
  return function() return nil, message end
end

local FROM_CONFIG = "certificates come from the declarative config (certificates, snis)"
for _, name in ipairs({
  "clear_certs", "set_der_cert", "set_der_priv_key", "set_cert", "set_priv_key",
  "parse_pem_cert", "parse_pem_priv_key", "cert_pem_to_der", "priv_key_pem_to_der",
}) do
  _M[name] = unsupported(name, FROM_CONFIG)
end
_M.verify_client = unsupported("verify_client",
  "Python's ssl module cannot request a client certificate during the handshake")

return _M

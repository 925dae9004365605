-- A certificate handler written the way Kong's plugins write them: the server name from
-- ngx.ssl, kong.client.tls for mutual TLS.  What it saw during the last handshake is
-- sent upstream by access (headers X-Lua-*), with what ngx.ssl says during the request.
local ssl = require "ngx.ssl"
local kong = kong
local tostring, pcall = tostring, pcall

local plugin = {
  PRIORITY = 940,
  VERSION = "1.0.0",
}

-- module-level: the handshake happens before (and outside) the request
local last = {}

function plugin:certificate(conf)
  local name = ssl.server_name()
  local ok, err = kong.client.tls.request_client_certificate()
  local reuse_ok, reuse_err = kong.client.tls.disable_session_reuse()
  local _, set_err = ssl.set_cert("x")
  last = {
    sni = name or "none",
    phase = ngx.get_phase(),
    port = tostring(ssl.server_port()),
    mtls = tostring(ok) .. ": " .. tostring(err),
    reuse = tostring(reuse_ok) .. ": " .. tostring(reuse_err),
    set_cert = set_err,
  }
  if conf.fail_on and name == conf.fail_on then
    error("refusing " .. name)
  end
end

function plugin:access(conf)
  local set = kong.service.request.set_header
  set("X-Lua-Cert-SNI", last.sni)
  set("X-Lua-Cert-Phase", last.phase)
  set("X-Lua-Cert-Port", last.port)
  set("X-Lua-Cert-MTLS", last.mtls)
  set("X-Lua-Cert-Reuse", last.reuse)
  set("X-Lua-Cert-Set-Cert", last.set_cert)
  set("X-Lua-SNI", ssl.server_name() or "none")
  local version, err = ssl.get_tls1_version_str()
  set("X-Lua-TLS-Version", version or err)
  set("X-Lua-Client-TLS-SNI", kong.client.tls.get_server_name() or "none")
  local chain, chain_err = kong.client.tls.get_full_client_certificate_chain()
  set("X-Lua-Client-Chain", chain or chain_err or "none")
  local ok, verify_err = pcall(function() kong.client.tls.set_client_verify("MAYBE") end)
  set("X-Lua-Set-Verify", tostring(ok) .. ": " .. tostring(verify_err))
end

return plugin

-- Test plugin: the request's bearer token is checked against the provider found
-- through `conf.discovery` (token introspection, or a JWT verified with the
-- provider's JWKS); the subject goes upstream in X-Subject, failures get 401.
local openidc = require "resty.openidc"

local Handler = { PRIORITY = 1000, VERSION = "1.0.0" }

function Handler:access(conf)
  local opts = {
    discovery = conf.discovery,
    client_id = conf.client_id,
    client_secret = conf.client_secret,
    introspection_endpoint_auth_method = conf.auth_method,
    token_signing_alg_values_expected = conf.expected_alg,
    ssl_verify = "no",
  }
  local claims, err
  if conf.mode == "introspect" then
    claims, err = openidc.introspect(opts)
  else
    claims, err = openidc.bearer_jwt_verify(opts)
  end
  if err or not claims then
    return kong.response.exit(401, { message = err or "no claims" })
  end
  kong.service.request.set_header("X-Subject", claims.sub)
  kong.service.request.set_header("X-Issuer", openidc.get_discovery_doc({ discovery = conf.discovery }).issuer)
end

return Handler

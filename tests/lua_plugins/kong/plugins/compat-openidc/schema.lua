-- Test plugin: accepts bearer tokens with resty.openidc, the way resource-server
-- plugins (kong-oidc's bearer mode, oauth2-audience) use it.
local typedefs = require "kong.db.schema.typedefs"

return {
  name = "compat-openidc",
  fields = {
    { protocols = typedefs.protocols_http },
    { config = {
        type = "record",
        fields = {
          { discovery = typedefs.url { required = true } },
          { mode = { type = "string", default = "introspect", one_of = { "introspect", "jwt" } } },
          { client_id = { type = "string", default = "gateway" } },
          { client_secret = { type = "string", default = "s3cret" } },
          { auth_method = { type = "string", default = "client_secret_basic" } },
          { expected_alg = { type = "string", default = "RS256" } },
        },
    } },
  },
}

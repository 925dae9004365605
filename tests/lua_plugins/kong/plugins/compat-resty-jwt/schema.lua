-- compat-resty-jwt: verify the client's token with a key (or HMAC secret), check its
-- issuer and expiry, and sign a new HS256 token for the upstream.
local typedefs = require "kong.db.schema.typedefs"

return {
  name = "compat-resty-jwt",
  fields = {
    { protocols = typedefs.protocols_http },
    { config = {
        type = "record",
        fields = {
          { verify_key = { type = "string", required = true } },
          { issuers = { type = "array", elements = { type = "string" }, default = {} } },
          { algorithms = { type = "array", elements = { type = "string" } } },
          { upstream_secret = { type = "string", required = true } },
          { upstream_header = typedefs.header_name { default = "X-Upstream-JWT" } },
        },
    } },
  },
}

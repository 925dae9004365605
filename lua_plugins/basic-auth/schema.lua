-- basic-auth's configuration (Kong 3.x): the anonymous consumer of the "logical OR"
-- pattern, whether the Authorization header reaches the upstream, and the realm
-- of the `WWW-Authenticate: Basic realm="..."` challenge.
local typedefs = require "kong.db.schema.typedefs"

return {
  name = "basic-auth",
  fields = {
    { consumer = typedefs.no_consumer },
    { protocols = typedefs.protocols_http },
    { config = {
        type = "record",
        fields = {
          { anonymous = {
              description = "Consumer id or username used when authentication fails "
                .. "(not its custom_id); unset: a failed authentication is answered 401.",
              type = "string" } },
          { hide_credentials = {
              description = "Remove the Authorization (or Proxy-Authorization) header "
                .. "before the request goes upstream.",
              type = "boolean", required = true, default = false } },
          { realm = {
              description = "The realm of the `WWW-Authenticate: Basic realm=\"...\"` challenge.",
              type = "string", required = true, default = "service" } },
        },
    } },
  },
}

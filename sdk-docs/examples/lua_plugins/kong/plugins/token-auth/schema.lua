-- token-auth's configuration: the scope a token needs on this route.
local typedefs = require "kong.db.schema.typedefs"

return {
  name = "token-auth",
  fields = {
    { consumer = typedefs.no_consumer },
    { protocols = typedefs.protocols_http },
    { config = {
        type = "record",
        fields = {
          { scope = { type = "string", required = true, default = "read" } },
        },
    } },
  },
}

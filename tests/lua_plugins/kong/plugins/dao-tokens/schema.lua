-- dao-tokens' configuration: the request header that carries the token.
local typedefs = require "kong.db.schema.typedefs"

return {
  name = "dao-tokens",
  fields = {
    { consumer = typedefs.no_consumer },
    { protocols = typedefs.protocols_http },
    { config = {
        type = "record",
        fields = {
          { header_name = typedefs.header_name { required = true, default = "X-Token" } },
        },
    } },
  },
}

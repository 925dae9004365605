local typedefs = require "kong.db.schema.typedefs"

return {
  name = "compat-jwt",
  fields = {
    { consumer = typedefs.no_consumer },
    { config = {
        type = "record",
        fields = {
          { algorithm = { type = "string", default = "HS256" } },
          { secret = { type = "string" } },
          { key_base64 = { type = "boolean", default = false } },
          { public_key = { type = "string" } },
          { signing_key = { type = "string" } },
          { issuer = { type = "string", default = "compat" } },
          { claims_to_verify = { type = "set", elements = { type = "string", one_of = { "exp", "nbf" } },
                                 default = { "exp" } } },
          { maximum_expiration = { type = "number", default = 0 } },
        },
    } },
  },
}

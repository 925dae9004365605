-- bot-detection's configuration (Kong 3.x): `allow` and `deny` lists of regular
-- expressions matched against the User-Agent header (checked before the built-in
-- list of bad bots; an `allow` match wins).
local typedefs = require "kong.db.schema.typedefs"

return {
  name = "bot-detection",
  fields = {
    { consumer = typedefs.no_consumer },
    { protocols = typedefs.protocols_http },
    { config = {
        type = "record",
        fields = {
          { allow = {
              description = "Regular expressions of User-Agent values always allowed.",
              type = "array", elements = { type = "string", is_regex = true }, default = {} } },
          { deny = {
              description = "Regular expressions of User-Agent values refused (403).",
              type = "array", elements = { type = "string", is_regex = true }, default = {} } },
        },
    } },
  },
}

-- compat-dao: no settings of its own; it runs after an auth plugin.
local typedefs = require "kong.db.schema.typedefs"

return {
  name = "compat-dao",
  fields = {
    { consumer = typedefs.no_consumer },
    { protocols = typedefs.protocols_http },
    { config = { type = "record", fields = {} } },
  },
}

-- request-size-limiting's schema (Kong 3.x): allowed_payload_size in size_unit
-- (megabytes, kilobytes or bytes), require_content_length.
local typedefs = require "kong.db.schema.typedefs"

local SIZE_UNITS = { "megabytes", "kilobytes", "bytes" }

return {
  name = "request-size-limiting",
  fields = {
    { protocols = typedefs.protocols_http },
    { config = {
        type = "record",
        fields = {
          { allowed_payload_size = { description = "Allowed request payload size in `size_unit`"
              .. " (default 128 megabytes).", type = "integer", default = 128 } },
          { size_unit = { description = "Size unit: `bytes`, `kilobytes` or `megabytes` (default).",
              type = "string", required = true, default = SIZE_UNITS[1], one_of = SIZE_UNITS } },
          { require_content_length = { description = "Set to `true` to require a valid `Content-Length`"
              .. " header (chunked requests are still accepted).", type = "boolean", required = true,
              default = false } },
        },
      },
    },
  },
}

-- tenant's configuration: which header names the tenant, and the fallback.
local typedefs = require "kong.db.schema.typedefs"

return {
  name = "tenant",
  fields = {
    { config = {
        type = "record",
        fields = {
          { header = typedefs.header_name { required = true, default = "X-Tenant" } },
          { default_tenant = { type = "string", required = true, default = "public",
                               match = "^[%w-]+$" } },
        },
    } },
  },
}

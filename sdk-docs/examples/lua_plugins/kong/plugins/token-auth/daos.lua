-- token-auth's own entity: API tokens, each belonging to a consumer.
local typedefs = require "kong.db.schema.typedefs"

return {
  {
    name = "auth_tokens",
    primary_key = { "id" },
    cache_key = { "token" },
    endpoint_key = "token",
    workspaceable = true,
    fields = {
      { id = typedefs.uuid },
      { created_at = typedefs.auto_timestamp_s },
      { consumer = { type = "foreign", reference = "consumers", required = true, on_delete = "cascade" } },
      { token = { type = "string", required = true, unique = true, auto = true } },
      { scopes = { type = "set", elements = { type = "string" }, required = true, default = { "read" } } },
      { tags = typedefs.tags },
    },
  },
}

-- dao-tokens' own entity, declared the way Kong 3.x plugins do (an array of schemas):
-- API tokens, each belonging to a consumer.  Operators write them nested in a consumer
-- (`consumers: [{username: alice, dao_tokens: [{token: abc}]}]`) or at the top level
-- with a `consumer` reference; a token left out is generated.
local typedefs = require "kong.db.schema.typedefs"

return {
  {
    name = "dao_tokens",
    primary_key = { "id" },
    cache_key = { "token" },
    endpoint_key = "token",
    workspaceable = true,
    fields = {
      { id = typedefs.uuid },
      { created_at = typedefs.auto_timestamp_s },
      { consumer = { type = "foreign", reference = "consumers", required = true, on_delete = "cascade" } },
      { token = { type = "string", required = true, unique = true, auto = true } },
      { scope = { type = "string", required = true, default = "read", one_of = { "read", "write" } } },
      { tags = typedefs.tags },
    },
  },
}

-- db-reader's own entity, Kong 3.x style: notes written nested in a consumer
-- (`consumers: [{username: alice, reader_notes: [{name: n1, text: hi}]}]`).  Its DAO
-- gets one custom method from kong.plugins.db-reader.notes (`dao = ...`).
local typedefs = require "kong.db.schema.typedefs"

return {
  {
    name = "reader_notes",
    primary_key = { "id" },
    cache_key = { "name" },
    endpoint_key = "name",
    dao = "kong.plugins.db-reader.notes",
    fields = {
      { id = typedefs.uuid },
      { consumer = { type = "foreign", reference = "consumers", required = true, on_delete = "cascade" } },
      { name = { type = "string", required = true, unique = true } },
      { text = { type = "string", required = true } },
    },
  },
}

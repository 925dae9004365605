-- compat-dao's entities, Kong 3.x style (an array of schemas).  `compat_dao_passes`
-- names a custom DAO module, as community plugins do when the generic DAO lacks a
-- lookup they need (here: one pass per consumer, looked up by a non-unique foreign
-- key); `compat_dao_notes` has none and keeps the generic DAO only.
local typedefs = require "kong.db.schema.typedefs"

return {
  {
    name = "compat_dao_passes",
    primary_key = { "id" },
    dao = "kong.plugins.compat-dao.passes",
    fields = {
      { id = typedefs.uuid },
      { created_at = typedefs.auto_timestamp_s },
      { consumer = { type = "foreign", reference = "consumers", default = ngx.null, on_delete = "cascade" } },
      { label = { type = "string", required = true } },
    },
  },
  {
    name = "compat_dao_notes",
    primary_key = { "id" },
    fields = {
      { id = typedefs.uuid },
      { consumer = { type = "foreign", reference = "consumers", required = true } },
      { text = { type = "string", required = true } },
    },
  },
}

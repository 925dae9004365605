-- compat-schema-leftovers: a schema with the leftovers real plugins carry and Kong
-- accepts: `elements` on a number (Moesif's batch_size), `keys`/`values` on a string,
-- and `fields` on a boolean.  They have no effect; the rest of the schema works.
return {
  name = "compat-schema-leftovers",
  fields = {
    { config = {
        type = "record",
        fields = {
          { batch_size = { type = "number", default = 200, elements = { type = "number", default = 200 } } },
          { label = { type = "string", default = "plain", keys = { type = "string" }, values = { type = "string" } } },
          { debug = { type = "boolean", default = false, fields = { { x = { type = "string" } } } } },
        },
    } },
  },
}

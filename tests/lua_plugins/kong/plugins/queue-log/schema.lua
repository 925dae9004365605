-- queue-log's configuration: the endpoint, Kong's `queue` record (typedefs.queue, the
-- same as kong.tools.queue_schema) and http-log's legacy `queue_size`.
local typedefs = require "kong.db.schema.typedefs"
local queue_schema = require "kong.tools.queue_schema"

assert(queue_schema == typedefs.queue)

return {
  name = "queue-log",
  fields = {
    { config = {
        type = "record",
        fields = {
          { endpoint = { type = "string", required = true } },
          { queue_name = { type = "string" } },
          { queue_size = { type = "integer" } },
          { queue = typedefs.queue },
        },
    } },
  },
}

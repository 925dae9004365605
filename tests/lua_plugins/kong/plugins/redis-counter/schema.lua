return {
  name = "redis-counter",
  fields = {
    { config = {
        type = "record",
        fields = {
          { host = { type = "string", default = "127.0.0.1" } },
          { port = { type = "integer", required = true } },
          { database = { type = "integer", default = 0 } },
          { password = { type = "string" } },
          { timeout = { type = "integer", default = 2000 } },
          { window = { type = "integer", default = 60 } },
        },
    } },
  },
}

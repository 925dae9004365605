-- line-sender's schema: where the collector listens.
return {
  name = "line-sender",
  fields = {
    { config = {
        type = "record",
        fields = {
          { protocol = { type = "string", default = "tcp", one_of = { "tcp", "udp" } } },
          { host = { type = "string", required = true } },
          { port = { type = "integer", required = true } },
          { timeout = { type = "number", default = 1000 } },
        },
    } },
  },
}

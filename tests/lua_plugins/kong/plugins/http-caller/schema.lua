return {
  name = "http-caller",
  fields = {
    { config = {
        type = "record",
        fields = {
          { url = { type = "string", required = true } },
          { method = { type = "string", default = "POST" } },
          { timeout = { type = "integer", default = 2000 } },
          { streamed = { type = "boolean", default = false } },
        },
    } },
  },
}

return {
  name = "rl-headers",
  fields = {
    { config = { type = "record", fields = { { limit = { type = "integer", default = 5 } } } } },
  },
}

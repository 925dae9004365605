return {
  name = "bench-lua-1",
  fields = {
    { config = { type = "record", fields = { { unused = { type = "string" } } } } },
  },
}

return {
  name = "bench-lua-2",
  fields = {
    { config = { type = "record", fields = { { unused = { type = "string" } } } } },
  },
}

return {
  name = "bench-lua-3",
  fields = {
    { config = { type = "record", fields = { { unused = { type = "string" } } } } },
  },
}

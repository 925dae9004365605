return {
  name = "bench-lua-4",
  fields = {
    { config = { type = "record", fields = { { unused = { type = "string" } } } } },
  },
}

return {
  name = "bench-lua-5",
  fields = {
    { config = { type = "record", fields = { { unused = { type = "string" } } } } },
  },
}

return {
  name = "compat-compress",
  fields = {
    { config = { type = "record", fields = {
        { mode = { type = "string", default = "plain", one_of = { "plain", "deflate" } } },
        { tags = { type = "array", elements = { type = "string" }, default = { "a", "b" } } },
    } } },
  },
}

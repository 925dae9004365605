return {
  name = "compat-headers-writer",
  fields = {
    { config = { type = "record", fields = {
        { host = { type = "string" } },
    } } },
  },
}

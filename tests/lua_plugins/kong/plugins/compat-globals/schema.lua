return {
  name = "compat-globals",
  fields = {
    { config = { type = "record", fields = {} } },
  },
}

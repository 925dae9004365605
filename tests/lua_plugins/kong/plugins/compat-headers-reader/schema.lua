return {
  name = "compat-headers-reader",
  fields = {
    { config = { type = "record", fields = {} } },
  },
}

return {
  name = "pdk-tour-buffered",
  fields = {
    { config = { type = "record", fields = {} } },
  },
}

return {
  name = "pdk-tour",
  fields = {
    { config = {
        type = "record",
        fields = {
          { consumer = { type = "string", default = "alice" } },
        },
    } },
  },
}

return {
  name = "compat-keyfile",
  fields = {
    { config = {
        type = "record",
        fields = {
          { key_path = { type = "string", required = true } },
        },
    } },
  },
}

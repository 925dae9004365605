return {
  name = "compat-multipart",
  fields = {
    { config = {
        type = "record",
        fields = {
          { add_name = { type = "string", default = "added" } },
          { add_value = { type = "string", default = "by-plugin" } },
          { remove_name = { type = "string", default = "secret" } },
        },
    } },
  },
}

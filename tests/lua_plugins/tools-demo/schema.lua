-- Schema of the tools-demo test plugin (plain field types, no typedefs).
return {
  name = "tools-demo",
  fields = {
    { config = {
        type = "record",
        fields = {
          { deny = { type = "array", elements = { type = "string" }, default = {} } },
        },
    } },
  },
}

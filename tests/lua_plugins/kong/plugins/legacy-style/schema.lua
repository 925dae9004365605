-- Schema of the legacy-style test plugin (plain field types, no typedefs).
return {
  name = "legacy-style",
  fields = {
    { config = {
        type = "record",
        fields = {
          { tag = { type = "string", default = "legacy" } },
          { blocked = { type = "array", elements = { type = "string" }, default = {} } },
        },
    } },
  },
}

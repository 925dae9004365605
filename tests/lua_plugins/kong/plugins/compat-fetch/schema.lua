return {
  name = "compat-fetch",
  fields = {
    { config = {
        type = "record",
        fields = {
          { url = { type = "string", required = true } },
          { generic = { type = "boolean", default = false } },
          { secure = { type = "boolean", default = false } },
          { pause = { type = "number", default = 0 } },
        },
    } },
  },
}

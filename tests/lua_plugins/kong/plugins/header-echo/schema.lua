return {
  name = "header-echo",
  fields = {
    { config = {
        type = "record",
        fields = {
          { header = { type = "string", default = "x-hello" } },
          { tag = { type = "string", default = "lua" } },
        },
    } },
  },
}

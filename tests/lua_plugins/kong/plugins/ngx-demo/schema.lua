return {
  name = "ngx-demo",
  fields = {
    { config = {
        type = "record",
        fields = {
          { tag = { type = "string", default = "demo" } },
        },
    } },
  },
}

return {
  name = "strings-demo",
  fields = {
    { config = {
        type = "record",
        fields = {
          { secret = { type = "string", required = true } },
        },
    } },
  },
}

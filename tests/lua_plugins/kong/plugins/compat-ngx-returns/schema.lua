return {
  name = "compat-ngx-returns",
  fields = {
    { config = { type = "record", fields = {} } },
  },
}

-- Test plugin: one request at a time in a critical section (resty.lock).
return {
  name = "compat-lock",
  fields = {
    { config = {
        type = "record",
        fields = {
          { hold = { type = "number", default = 0.1 } },
          { timeout = { type = "number", default = 5 } },
        },
    } },
  },
}

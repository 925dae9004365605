-- Test plugin: rewrites the request body from a resty.template template.
return {
  name = "compat-template",
  fields = {
    { config = {
        type = "record",
        fields = { { request_template = { type = "string", required = true } } },
    } },
  },
}

-- Test plugin: resty.cookie, resty.jit-uuid, resty.hmac and resty.iputils used the way
-- community plugins use them.
return {
  name = "compat-resty-misc",
  fields = {
    { config = {
        type = "record",
        fields = {
          { allow = { type = "array", elements = { type = "string" }, default = { "127.0.0.0/8" } } },
          { secret = { type = "string", default = "cookie-secret" } },
        },
    } },
  },
}

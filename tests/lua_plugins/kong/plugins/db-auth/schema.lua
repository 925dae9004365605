-- db-auth: a test plugin written like Kong's key-auth and acl (see handler.lua).
return {
  name = "db-auth",
  fields = {
    { config = {
        type = "record",
        fields = {
          { key_names = { type = "array", elements = { type = "string" }, default = { "apikey" } } },
          { allow = { type = "array", elements = { type = "string" } } },
          { wait_for = { type = "integer", default = 0 } },
        },
    } },
  },
}

-- Schema of the lua-secrets test plugin: no settings.
return {
  name = "lua-secrets",
  fields = {
    { config = { type = "record", fields = {} } },
  },
}

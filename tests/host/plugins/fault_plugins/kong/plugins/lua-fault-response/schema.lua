-- Schema of the lua-fault-response test plugin: no settings.
return {
  name = "lua-fault-response",
  fields = {
    { config = { type = "record", fields = {} } },
  },
}

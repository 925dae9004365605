-- auth-refs: a test plugin (see handler.lua).
return {
  name = "auth-refs",
  fields = {
    { config = {
        type = "record",
        fields = {
          { change = { type = "boolean", default = false } },
          { bad = { type = "boolean", default = false } },
        },
    } },
  },
}

-- db-reader: a test plugin that reads the configuration through kong.db (see handler.lua).
return {
  name = "db-reader",
  fields = {
    { config = {
        type = "record",
        fields = {
          { header_name = { type = "string", default = "apikey" } },
        },
    } },
  },
}

-- Schema of the lua-fault test plugin: which phase fails, and how.
return {
  name = "lua-fault",
  fields = {
    { config = {
        type = "record",
        fields = {
          { phase = { type = "string", default = "access",
                      one_of = { "rewrite", "access", "header_filter", "body_filter", "log" } } },
          { how = { type = "string", default = "raise", one_of = { "raise", "hang" } } },
        },
    } },
  },
}

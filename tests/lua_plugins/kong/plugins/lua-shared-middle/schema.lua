return { name = "lua-shared-middle", fields = { { config = { type = "record", fields = { { x = { type = "string" } } } } } } }

-- Test plugin: evaluates a Lua expression from its configuration the way Kong's
-- http-log evaluates custom_fields_by_lua (kong.tools.sandbox).  The expression check
-- lives in another plugin's module (compat-sandbox-lib), as Kong's post-function
-- takes its schema from pre-function.
local checks = require "kong.plugins.compat-sandbox-lib.checks"

return {
  name = "compat-sandbox",
  fields = {
    { config = {
        type = "record",
        fields = {
          { expression = { type = "string", required = true, custom_validator = checks.lua_code } },
        },
    } },
  },
}

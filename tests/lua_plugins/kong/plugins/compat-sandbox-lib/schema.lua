-- Test plugin whose module (checks.lua) another plugin's schema requires.
return {
  name = "compat-sandbox-lib",
  fields = { { config = { type = "record", fields = {} } } },
}

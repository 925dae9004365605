-- pre-function (Kong's serverless "pre-function" plugin): runs the Lua code strings of
-- its config, phase by phase, before the other plugins (PRIORITY 1000000).  The code
-- runs as the `untrusted_lua` setting says (default: sandboxed); see
-- host/lua/lua/modules/moongate.serverless.lua and sdk-docs/security.md.
return require("moongate.serverless").handler("pre-function", 1000000)

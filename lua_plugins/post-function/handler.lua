-- post-function (Kong's serverless "post-function" plugin): runs the Lua code strings of
-- its config, phase by phase, after the other plugins (PRIORITY -1000).  The code runs
-- as the `untrusted_lua` setting says (default: sandboxed); see
-- host/lua/lua/modules/moongate.serverless.lua and sdk-docs/security.md.
return require("moongate.serverless").handler("post-function", -1000)

-- pre-function's schema: one array of Lua code strings per phase (Kong 3.x).
return require("moongate.serverless").schema("pre-function")

-- request-transformer (Kong 3.x, PRIORITY 801): edits the request before it goes to
-- the upstream (headers, query string, JSON / form / multipart body, method, path);
-- see access.lua for the order of operations and template.lua for template values.
local access = require "kong.plugins.request-transformer.access"
local kong_meta = require "kong.meta"

local RequestTransformerHandler = {
  VERSION = kong_meta.version,
  PRIORITY = 801,
}

function RequestTransformerHandler:access(conf)
  access.execute(conf)
end

return RequestTransformerHandler

-- compat-keyfile: reads a key from a file the operator configured, through
-- kong.cache so the file is read once (kong-upstream-jwt's way: pl.file.read), signs
-- the request with it (an upstream header), and logs a security event with
-- ngx.errlog.raw_log (jwt-keycloak's way).
local pl_file = require "pl.file"
local errlog = require "ngx.errlog"
local jwt_decoder = require "kong.plugins.jwt.jwt_parser"

local CompatKeyfile = { PRIORITY = 850, VERSION = "1.0.0" }

local function read_key(path)
  local content, err = pl_file.read(path)
  if not content then return nil, err end
  return content
end

function CompatKeyfile:access(conf)
  local key, err = kong.cache:get("compat-keyfile:" .. conf.key_path, nil, read_key, conf.key_path)
  if not key then
    errlog.raw_log(ngx.ERR, "[security-event] key unreadable: " .. tostring(err))
    return kong.response.exit(500, { message = "key unreadable", err = err })
  end
  local token = jwt_decoder.encode({ path = kong.request.get_path() }, key, "RS256")
  kong.service.request.set_header("X-Signed", token)
  local ok, werr = pl_file.write(conf.key_path, "x")
  kong.service.request.set_header("X-Write", tostring(ok) .. ": " .. tostring(werr))
end

return CompatKeyfile

-- The `response` phase from Lua: the upstream body is buffered, read and replaced.
local kong = kong
local Buffered = { PRIORITY = 800, VERSION = "1.0.0" }

function Buffered:access(conf)
  kong.service.request.enable_buffering()
end

function Buffered:response(conf)
  local raw = kong.service.response.get_raw_body()
  local body, err, mime = kong.service.response.get_body()
  kong.response.set_header("X-Raw-Length", #raw)
  kong.response.set_header("X-Mime", mime)
  kong.response.exit(200, { method = body.method, upstream_status = kong.service.response.get_status() })
end

return Buffered

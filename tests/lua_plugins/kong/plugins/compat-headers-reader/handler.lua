-- compat-headers-reader: reports, as JSON, the request headers a plugin sees through
-- every reader (kong.request, ngx.req, ngx.var), and Kong's enabled_headers maps
-- (openwhisk and aws-lambda read them to decide which headers they add).
local CompatHeadersReader = { PRIORITY = 1200, VERSION = "1.0.0" }

local function str(v)
  if type(v) == "table" then return table.concat(v, ",") end
  return v == nil and "nil" or tostring(v)
end

function CompatHeadersReader:access(conf)
  local kh, nh = kong.request.get_headers(), ngx.req.get_headers()
  local enabled = kong.configuration.enabled_headers
  return kong.response.exit(200, {
    get_header = {
      consumer = str(kong.request.get_header("X-Consumer-ID")),
      tag = str(kong.request.get_header("x_tag")),
      key = str(kong.request.get_header("X-Api-Key")),
      host = str(kong.request.get_header("Host")),
    },
    get_headers = { consumer = str(kh["x-consumer-id"]), tag = str(kh.x_tag), key = str(kh["x-api-key"]) },
    ngx_get_headers = { consumer = str(nh["x-consumer-id"]), tag = str(nh["X-Tag"]), key = str(nh["x-api-key"]) },
    ngx_var = { consumer = str(ngx.var.http_x_consumer_id), tag = str(ngx.var.http_x_tag),
                key = str(ngx.var.http_x_api_key) },
    enabled_headers = {
      via = enabled["Via"], server = enabled.Server, latency = enabled["X-Kong-Proxy-Latency"],
      upstream_status = enabled["X-Kong-Upstream-Status"],
      request_id_upstream = kong.configuration.enabled_headers_upstream["X-Kong-Request-Id"],
    },
  })
end

return CompatHeadersReader

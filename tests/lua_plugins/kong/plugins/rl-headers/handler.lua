-- Test plugin: keeps rate-limit headers in ngx.ctx during access and sets them in
-- header_filter through kong.pdk.private.rate_limiting, as Kong's rate-limiting does.
local pdk_rl = require "kong.pdk.private.rate_limiting"

local RlHeaders = { PRIORITY = 910, VERSION = "1.0.0" }

function RlHeaders:access(conf)
  local ngx_ctx = ngx.ctx
  pdk_rl.store_response_header(ngx_ctx, "X-RateLimit-Limit-Minute", conf.limit)
  pdk_rl.store_response_header(ngx_ctx, "X-RateLimit-Remaining-Minute", conf.limit - 1)
  local ok, err = pcall(pdk_rl.store_response_header, ngx_ctx, "X-Bad", {})
  kong.service.request.set_header("X-Stored", tostring(pdk_rl.get_stored_response_header(ngx_ctx, "X-RateLimit-Limit-Minute")))
  kong.service.request.set_header("X-Bad-Value", ok and "accepted" or err)
end

function RlHeaders:header_filter(conf)
  pdk_rl.apply_response_headers(ngx.ctx)
end

return RlHeaders

-- Echoes its (defaults-filled) configuration into response headers, so tests can see
-- what the schema engine produced for conf.
local kong = kong
local concat = table.concat

local SchemaDemo = {
  PRIORITY = 1000,
  VERSION = "1.0.0",
}

function SchemaDemo:header_filter(conf)
  local set_header = kong.response.set_header
  set_header(conf.echo_header, conf.mode)
  set_header("X-Demo-Methods", concat(conf.methods, ","))
  set_header("X-Demo-Retries", conf.retries)
  set_header("X-Demo-Ratio", conf.ratio)
  set_header("X-Demo-Upstream-Port", conf.upstreams and conf.upstreams[1].port or "none")
  set_header("X-Demo-Cache", conf.cache.strategy .. "/" .. conf.cache.ttl .. "/" .. conf.cache.redis.port)
  set_header("X-Demo-Redis-Host", conf.cache.redis.host or "none")
end

return SchemaDemo

-- hello-lua: greet the upstream with a request header taken from the plugin's
-- config (access), and tell the client which greeting was sent (header_filter).
local kong = kong

local HelloLua = {
  PRIORITY = 800,
  VERSION = "1.0.0",
}

function HelloLua:access(conf)
  kong.service.request.set_header(conf.request_header, conf.greeting)
  kong.ctx.plugin.greeted = conf.greeting
end

function HelloLua:header_filter(conf)
  local greeted = kong.ctx.plugin.greeted
  if greeted then  -- nil when access did not run (no route, or an earlier exit)
    kong.response.set_header(conf.response_header, greeted)
  end
end

return HelloLua

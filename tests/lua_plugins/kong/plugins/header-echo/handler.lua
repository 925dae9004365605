-- Reads a request header in access and answers with it in a response header;
-- `X-Deny: yes` ends the request with kong.response.exit.
local kong = kong
local HeaderEcho = {
  PRIORITY = 1000,
  VERSION = "1.0.0",
}

function HeaderEcho:access(conf)
  if kong.request.get_header("x-deny") == "yes" then
    return kong.response.exit(403, { message = "denied by " .. conf.tag })
  end
  kong.ctx.plugin.seen = kong.request.get_header(conf.header)
  kong.service.request.set_header("X-From-Lua", conf.tag)
end

function HeaderEcho:header_filter(conf)
  kong.response.set_header("X-Echo", kong.ctx.plugin.seen or "none")
end

return HeaderEcho

-- Test plugin: the body the upstream gets is `conf.request_template` rendered with the
-- JSON body, the query and the route's regex captures (ngx.ctx.router_matches), set
-- with ngx.req.set_body_data and a Content-Length header, as template-transformer
-- plugins do.
local template = require "resty.template"
local cjson = require "cjson.safe"

local Handler = { PRIORITY = 900, VERSION = "1.0.0" }

function Handler:access(conf)
  ngx.req.read_body()
  local render = template.compile(conf.request_template)
  local body = render({
    body = cjson.decode(ngx.req.get_body_data() or "") or {},
    query = ngx.req.get_uri_args(),
    captures = ngx.ctx.router_matches.uri_captures,
  })
  ngx.req.set_body_data(body)
  ngx.req.set_header("Content-Length", #body)
end

return Handler

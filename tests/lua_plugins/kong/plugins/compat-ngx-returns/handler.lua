-- compat-ngx-returns: the idioms that depend on how many values an ngx.req function
-- returns (`cjson.decode(ngx.req.get_body_data())` passes every value on), and the
-- counts themselves, answered as JSON: OpenResty's functions return exactly one value,
-- none, or `value, err` only when there is an error or a note.
local cjson = require "cjson.safe"

local CompatNgxReturns = { PRIORITY = 870, VERSION = "1.0.0" }

local function count(...) return select("#", ...) end

function CompatNgxReturns:access(conf)
  ngx.req.read_body()
  local body = cjson.decode(ngx.req.get_body_data())
  local _, many = ngx.req.get_uri_args(2)
  local counts = {
    get_body_data = count(ngx.req.get_body_data()),
    get_method = count(ngx.req.get_method()),
    http_version = count(ngx.req.http_version()),
    start_time = count(ngx.req.start_time()),
    raw_header = count(ngx.req.raw_header()),
    is_internal = count(ngx.req.is_internal()),
    get_uri_args = count(ngx.req.get_uri_args()),
    get_uri_args_truncated = count(ngx.req.get_uri_args(1)),
    get_post_args = count(ngx.req.get_post_args()),
    get_headers = count(ngx.req.get_headers()),
    resp_get_headers = count(ngx.resp.get_headers()),
    set_header = count(ngx.req.set_header("X-Set", "1")),
    clear_header = count(ngx.req.clear_header("X-Set")),
    set_method = count(ngx.req.set_method(ngx.HTTP_POST)),
    set_uri_args = count(ngx.req.set_uri_args("a=1")),
    set_uri = count(ngx.req.set_uri("/moved")),
    set_body_data = count(ngx.req.set_body_data(ngx.req.get_body_data())),
  }
  return kong.response.exit(200, { body = body, counts = counts, truncated = many })
end

return CompatNgxReturns

-- Exercises OpenResty's ngx.* request API the way older Kong plugins use it; the
-- `X-Mode` request header picks what the access handler does.
local ngx = ngx
local kong = kong
local tostring, ipairs, pcall, concat, upper = tostring, ipairs, pcall, table.concat, string.upper

local NgxDemo = {
  PRIORITY = 900,
  VERSION = "1.0.0",
}

local VARS = {
  "request_uri", "uri", "args", "is_args", "query_string", "host", "http_host",
  "remote_addr", "remote_port", "realip_remote_addr", "server_port", "server_name", "scheme",
  "https", "request_method", "request", "request_id", "content_type", "content_length",
  "http_x_custom", "http_x_multi", "cookie_session", "arg_page", "upstream_uri",
  "upstream_scheme", "upstream_host", "upstream_x_forwarded_for", "upstream_x_forwarded_proto",
  "ssl_protocol", "no_such_variable",
}

local function say_pairs(list)
  for _, pair in ipairs(list) do ngx.say(pair[1], "=", tostring(pair[2])) end
end

local MODES = {}

function MODES.vars()
  local out = {}
  for i, name in ipairs(VARS) do out[i] = { name, ngx.var[name] } end
  out[#out + 1] = { "binary_remote_addr_len", #ngx.var.binary_remote_addr }
  out[#out + 1] = { "UPSTREAM_URI_UPPER", ngx.var.UPSTREAM_URI }
  say_pairs(out)
  return ngx.exit(200)
end

function MODES.req()
  kong.service.request.set_header("X-Set-By-Kong", "k")
  ngx.req.set_header("X-Set-By-Ngx", { "a", "b" })
  ngx.req.clear_header("X-Remove")
  local h = ngx.req.get_headers()
  local raw = ngx.req.get_headers(nil, true)
  local limited, limited_err = ngx.req.get_headers(2)
  local args = ngx.req.get_uri_args()
  local post = ngx.req.get_post_args()
  say_pairs({
    { "x_custom_lower", h["x-custom"] }, { "x_custom_mixed", h["X-Custom"] },
    { "x_custom_underscore", h.x_custom }, { "raw_has_mixed_case", raw["X-Custom"] ~= nil },
    { "raw_lower_absent", raw["x-custom"] == nil },
    { "multi", concat(h["x-multi"], ",") }, { "set_by_kong", h["x-set-by-kong"] },
    { "set_by_ngx", concat(h["x-set-by-ngx"], ",") }, { "removed", h["x-remove"] },
    { "host", h.host }, { "limited_err", limited_err }, { "http_set_by_ngx", ngx.var.http_x_set_by_ngx },
    { "page", args.page }, { "flag", args.flag }, { "tags", concat(args.tags, ",") },
    { "form_a", post.a }, { "form_b", post.b },
    { "method", ngx.req.get_method() }, { "http_version", ngx.req.http_version() },
    { "start_time_ok", math.abs(ngx.req.start_time() - os.time()) < 5 },
    { "body", ngx.req.get_body_data() }, { "body_file", ngx.req.get_body_file() },
    { "raw_header_starts", ngx.req.raw_header():sub(1, 4) }, { "internal", ngx.req.is_internal() },
    { "phase", ngx.get_phase() },
  })
  return ngx.exit(ngx.HTTP_OK)
end

function MODES.rewrite()
  ngx.req.set_header("X-Added", "1")
  ngx.req.clear_header("X-Remove")
  ngx.var.upstream_uri = "/anything/rewritten"
  ngx.req.set_uri_args({ b = "2", flag = true })
  ngx.req.set_method(ngx.HTTP_PUT)
  ngx.req.init_body()
  ngx.req.append_body("new ")
  ngx.req.append_body("body")
  ngx.req.finish_body()
  ngx.req.set_uri("/internal/path")
  ngx.ctx.after_rewrite = { uri = ngx.var.uri, upstream_uri = ngx.var.upstream_uri,
    internal = ngx.req.is_internal(), args = ngx.var.args, method = ngx.req.get_method() }
end

function MODES.exit403()
  ngx.exit(403)
  ngx.ctx.not_reached = true
end

function MODES.exit_ok()
  ngx.ctx.note = "kept"
  return ngx.exit(ngx.OK)
end

function MODES.redirect()
  return ngx.redirect("/new/place?x=1", ngx.HTTP_MOVED_PERMANENTLY)
end

function MODES.say()
  ngx.status = 201
  ngx.header["X-Said"] = "yes"
  ngx.header.content_type = "text/plain"
  ngx.say("hello ", "world")
  ngx.print({ "a", { "b", 1 } }, true, nil, ngx.null)
  return ngx.exit(ngx.OK)
end

function MODES.errors()
  local out = {}
  local function try(name, fn)
    local ok, err = pcall(fn)
    out[#out + 1] = { name, ok and "no error" or err }
  end
  try("read_only", function() ngx.var.request_uri = "/x" end)
  try("unknown", function() ngx.var.my_var = "x" end)
  try("location", function() return ngx.location.capture("/x") end)
  try("set_method", function() ngx.req.set_method(99) end)
  try("redirect", function() ngx.redirect("/x", 200) end)
  try("set_uri", function() ngx.req.set_uri("/a b") end)
  try("jump", function() ngx.req.set_uri("/a", true) end)
  try("arg", function() ngx.arg[1] = "x" end)
  say_pairs(out)
  return ngx.exit(200)
end

function MODES.ctx()
  kong.client.authenticate({ id = "c0ffee00-0000-4000-8000-000000000001", username = "alice" }, nil)
  ngx.ctx.authenticated_credential = { id = "cred-1", key = "k" }
  local matches = ngx.ctx.router_matches
  say_pairs({
    { "consumer", ngx.ctx.authenticated_consumer.username },
    { "credential_from_pdk", kong.client.get_credential().id },
    { "route", ngx.ctx.route.name }, { "service", ngx.ctx.service.name },
    { "capture", matches.uri_captures.id },
    { "groups", ngx.ctx.authenticated_groups },
    { "own_key", ngx.ctx.own_key },
  })
  return ngx.exit(200)
end

function NgxDemo:access(conf)
  local mode = ngx.var.http_x_mode
  ngx.ctx.mode = mode
  local fn = mode and MODES[mode]
  if fn then return fn() end
end

function NgxDemo:header_filter(conf)
  ngx.header["X-Seen-Status"] = ngx.status
  ngx.header.x_from_lua = conf.tag
  ngx.header["X-Upstream"] = nil
  ngx.header["X-List"] = { "a", "b" }
  local ctx = ngx.ctx
  if ctx.note then ngx.header["X-Note"] = ctx.note end
  if ctx.not_reached then ngx.header["X-Not-Reached"] = "reached" end
  if ctx.after_rewrite then
    local r = ctx.after_rewrite
    ngx.header["X-After-Rewrite"] = concat({ r.uri, r.upstream_uri, tostring(r.internal), r.args, r.method }, " ")
    ngx.header["X-Upstream-Status"] = ngx.var.upstream_status
    ngx.header["X-Upstream-Uri-Final"] = ngx.var.upstream_uri
  end
  local seen = ngx.resp.get_headers()
  ngx.header["X-Resp-Seen"] = tostring(seen["x-seen-status"]) .. "/" .. tostring(seen.X_FROM_LUA)
  if ctx.mode == "upper" then ngx.header.content_length = nil end
end

function NgxDemo:body_filter(conf)
  if ngx.ctx.mode == "upper" then
    ngx.arg[1] = upper(ngx.arg[1])
    if ngx.arg[2] then ngx.arg[1] = ngx.arg[1] .. "<EOF>" end
  end
end

return NgxDemo

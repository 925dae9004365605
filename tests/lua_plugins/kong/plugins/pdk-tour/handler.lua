-- Calls every PDK function from Lua, the way Kong plugins call them; the request
-- header X-Tour picks what to exercise and the results come back in the response.
local kong = kong
local Tour = { PRIORITY = 900, VERSION = "1.2.3" }

local function request_getters()
  local uri = kong.request.get_uri_captures()
  local headers = kong.request.get_headers()
  local query = kong.request.get_query()
  local body, err, mime = kong.request.get_body()
  return {
    scheme = kong.request.get_scheme(),
    host = kong.request.get_host(),
    port = kong.request.get_port(),
    forwarded_scheme = kong.request.get_forwarded_scheme(),
    forwarded_host = kong.request.get_forwarded_host(),
    forwarded_port = kong.request.get_forwarded_port(),
    forwarded_path = kong.request.get_forwarded_path(),
    forwarded_prefix = kong.request.get_forwarded_prefix() or "none",
    http_version = kong.request.get_http_version(),
    method = kong.request.get_method(),
    path = kong.request.get_path(),
    raw_path = kong.request.get_raw_path(),
    path_with_query = kong.request.get_path_with_query(),
    raw_query = kong.request.get_raw_query(),
    query_arg = kong.request.get_query_arg("a"),
    flag_arg = kong.request.get_query_arg("flag"),
    query_multi = query.m,
    header = kong.request.get_header("X-Tour"),
    header_underscore = kong.request.get_header("x_custom_thing"),
    headers_lookup = headers["X_CUSTOM_THING"],
    headers_multi = headers["x-multi"],
    raw_body = kong.request.get_raw_body(),
    body_field = body and body.field,
    body_err = err or "none",
    body_mime = mime,
    start_time_ms = kong.request.get_start_time() > 1e12,
    captures_named = uri.named.version,
    captures_whole = uri.unnamed[0],
    captures_unnamed = uri.unnamed[2],
  }
end

local function misc_getters()
  local route = kong.router.get_route()
  local service = kong.router.get_service()
  local stats = kong.nginx.get_statistics()
  local mem = kong.node.get_memory_stats()
  return {
    client_ip = kong.client.get_ip(),
    client_forwarded_ip = kong.client.get_forwarded_ip(),
    client_port = type(kong.client.get_port()),
    client_forwarded_port = type(kong.client.get_forwarded_port()),
    protocol = kong.client.get_protocol(),
    consumer = kong.client.get_consumer() == nil,
    credential = kong.client.get_credential() == nil,
    trusted = kong.ip.is_trusted("127.0.0.1"),
    node_id = #kong.node.get_id(),
    hostname = type(kong.node.get_hostname()),
    memory = type(mem),
    subsystem = kong.nginx.get_subsystem(),
    total_requests = type(stats.total_requests),
    plugin_id = kong.plugin.get_id(),
    route_name = route.name,
    service_name = service.name,
    version = kong.version,
    version_num = kong.version_num,
    conf_proxy_listen = type(kong.configuration.proxy_listen),
    merged = kong.table.merge({ a = 1 }, { b = 2 }).b,
    new_table = type(kong.table.new(2, 2)),
    cleared = (function() local t = { 1, x = 2 } kong.table.clear(t) return next(t) == nil end)(),
  }
end

local function consumer_round_trip(conf)
  local consumer, err = kong.client.load_consumer(conf.consumer, true)
  if not consumer then
    return { err = err or "not found" }
  end
  kong.client.authenticate(consumer, { id = "cred-1", consumer = { id = consumer.id } })
  local got = kong.client.get_consumer()
  local cred = kong.client.get_credential()
  return { username = got.username, credential = cred.id, same_id = got.id == consumer.id }
end

function Tour:access(conf)
  local mode = kong.request.get_header("X-Tour")
  kong.ctx.shared.tour_mode = mode
  kong.ctx.plugin.started = true
  kong.log.debug("tour mode ", mode)
  kong.log.info("tour")
  kong.log.notice("tour")
  kong.log("tour via call")
  kong.log.set_serialize_value("request.tour", mode)
  if mode == "request" then
    return kong.response.exit(200, request_getters())
  elseif mode == "misc" then
    return kong.response.exit(200, misc_getters(), { ["X-Exit"] = "yes" })
  elseif mode == "consumer" then
    return kong.response.exit(200, consumer_round_trip(conf))
  elseif mode == "error" then
    return kong.response.error(451, "Unavailable for tour reasons")
  elseif mode == "bad-arg" then
    kong.response.set_header(nil, "x")   -- misuse: a Lua error, the request gets a 500
  elseif mode == "phase-error" then
    kong.log.serialize()                 -- only allowed in log: a Lua error
  elseif mode == "after-exit" then
    kong.response.exit(202, "short")
    kong.service.request.set_header("X-Never", "set")
  elseif mode == "upstream" then
    kong.service.request.set_scheme("http")
    kong.service.request.set_method("POST")
    kong.service.request.set_path("/tour/path")
    kong.service.request.set_raw_query("x=1")
    kong.service.request.set_query({ q = "v", list = { "a", "b" }, flag = true })
    kong.service.request.clear_query_arg("flag")
    kong.service.request.set_header("X-Set", "one")
    kong.service.request.add_header("X-Added", "a")
    kong.service.request.add_header("X-Added", "b")
    kong.service.request.set_headers({ ["X-Many"] = { "1", "2" } })
    kong.service.request.clear_header("X-Remove-Me")
    kong.service.request.set_body({ hello = "world" }, "application/json")
    kong.service.set_retries(2)
    kong.service.set_timeouts(5000, 5000, 5000)
  elseif mode == "raw-body" then
    kong.service.request.set_raw_body("raw!")
  elseif mode == "target" then
    kong.service.set_target("127.0.0.1", tonumber(kong.request.get_header("X-Port")))
  elseif mode == "upstream-entity" then
    local ok, err = kong.service.set_upstream("no-such-upstream")
    return kong.response.exit(200, { ok = ok == true, err = err })
  end
end

function Tour:header_filter(conf)
  local mode = kong.ctx.shared.tour_mode
  if not kong.ctx.plugin.started then return end
  kong.response.set_header("X-Source", kong.response.get_source())
  if mode == "upstream" or mode == "raw-body" or mode == "target" then
    kong.response.set_header("X-Service-Status", kong.service.response.get_status())
    kong.response.set_header("X-Service-Header", kong.service.response.get_header("X-Upstream"))
    local sh = kong.service.response.get_headers()
    kong.response.set_header("X-Service-Headers", sh["content_type"])
    kong.response.set_header("X-Status", kong.response.get_status())
    kong.response.add_header("X-Add", "1")
    kong.response.add_header("X-Add", "2")
    kong.response.set_headers({ ["X-Set-Many"] = "yes", ["X-Clear"] = "gone" })
    kong.response.clear_header("X-Clear")
    kong.response.set_header("X-Get", kong.response.get_header("X-Set-Many"))
    kong.response.set_header("X-Get-All", kong.response.get_headers()["x-set-many"])
    kong.response.set_status(201)
    kong.response.clear_header("Content-Length")
  end
end

function Tour:body_filter(conf)
  if kong.ctx.shared.tour_mode ~= "upstream" then return end
  local body = kong.response.get_raw_body()
  if body then
    kong.response.set_raw_body("wrapped:" .. #body)
  end
end

function Tour:log(conf)
  local entry = kong.log.serialize()
  kong.log.notice("tour log ", entry.request.tour or "-", " ", entry.response.status)
end

return Tour

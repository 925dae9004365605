-- request-termination (Kong 3.x, PRIORITY 2): answers every request itself with
-- `status_code` and a `{"message": ...}` body (Kong's default text per status), a raw
-- `body` with `content_type`, or, with `echo`, a JSON copy of the request.  With
-- `trigger`, only requests carrying that header or query argument are terminated.
local kong_meta = require "kong.meta"

local kong = kong
local ngx = ngx

local DEFAULT_MESSAGE = {
  [401] = "Unauthorized",
  [404] = "Not found",
  [405] = "Method not allowed",
  [500] = "An unexpected error occurred",
  [502] = "Bad Gateway",
  [503] = "Service unavailable",
}

local RequestTerminationHandler = {
  PRIORITY = 2,
  VERSION = kong_meta.version,
}

local function echo_of(conf, headers, query)
  local body = kong.request.get_body()
  return {
    message = conf.message or DEFAULT_MESSAGE[conf.status_code],
    kong = {
      node_id = kong.node.get_id(),
      worker_pid = ngx.worker.pid(),
      hostname = kong.node.get_hostname(),
    },
    request = {
      scheme = kong.request.get_scheme(),
      host = kong.request.get_host(),
      port = kong.request.get_port(),
      headers = headers,
      query = query,
      body = body,
      raw_body = kong.request.get_raw_body(),
      method = kong.request.get_method(),
      path = kong.request.get_path(),
      uri_captures = kong.request.get_uri_captures(),
    },
    matched_route = kong.router.get_route(),
    matched_service = kong.router.get_service(),
  }
end

function RequestTerminationHandler:access(conf)
  local status = conf.status_code
  local headers, query
  if conf.trigger or conf.echo then
    headers = kong.request.get_headers()
    query = kong.request.get_query()
    local trigger = conf.trigger
    if trigger and not kong.request.get_header(trigger) and not query[trigger] then
      return -- not triggered: the request goes on
    end
  end

  if conf.echo then
    return kong.response.exit(status, echo_of(conf, headers, query))
  end

  if conf.body then
    return kong.response.exit(status, conf.body, { ["Content-Type"] = conf.content_type })
  end

  local message = conf.message or DEFAULT_MESSAGE[status]
  return kong.response.exit(status, message and { message = message } or nil)
end

return RequestTerminationHandler

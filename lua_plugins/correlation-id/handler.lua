-- correlation-id (Kong 3.x, PRIORITY 100001): makes sure every proxied request carries
-- an id in `header_name` (the client's own when it sent one, else a generated one:
-- `uuid`, `uuid#counter` = one uuid per worker plus a counter, or `tracker` = server
-- address, port, worker pid, connection serial, requests on the connection, time).
-- The id is added to the log serializer's output as `correlation_id` and, with
-- `echo_downstream`, sent back to the client in the same header.
local uuid = require("kong.tools.uuid").uuid
local kong_meta = require "kong.meta"

local kong = kong
local ngx = ngx
local fmt = string.format

local worker_uuid, worker_counter

local generators = {
  ["uuid"] = function()
    return uuid()
  end,
  ["uuid#counter"] = function()
    if not worker_uuid then
      worker_uuid, worker_counter = uuid(), 0
    end
    worker_counter = worker_counter + 1
    return worker_uuid .. "#" .. worker_counter
  end,
  ["tracker"] = function()
    local var = ngx.var
    return fmt("%s-%s-%d-%s-%s-%0.3f", var.server_addr, var.server_port, ngx.worker.pid(),
      var.connection, var.connection_requests, ngx.now())
  end,
}

local CorrelationIdHandler = {
  PRIORITY = 100001,
  VERSION = kong_meta.version,
}

function CorrelationIdHandler:init_worker()
  worker_uuid, worker_counter = uuid(), 0
end

function CorrelationIdHandler:access(conf)
  local id = kong.request.get_header(conf.header_name)
  if not id or id == "" then
    id = generators[conf.generator]()
    kong.service.request.set_header(conf.header_name, id)
  end
  kong.log.set_serialize_value("correlation_id", id)
  if conf.echo_downstream then
    kong.ctx.plugin.correlation_id = id
  end
end

function CorrelationIdHandler:header_filter(conf)
  if not conf.echo_downstream then
    return
  end
  local id = kong.ctx.plugin.correlation_id or kong.request.get_header(conf.header_name)
  if not id or id == "" then
    -- access did not run (the request ended before it, e.g. no route matched)
    id = generators[conf.generator]()
  end
  kong.response.set_header(conf.header_name, id)
end

return CorrelationIdHandler

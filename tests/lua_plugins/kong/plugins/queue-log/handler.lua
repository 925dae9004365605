-- Sends each request's path to an HTTP endpoint in batches through Kong's queue
-- (kong.tools.queue), the way http-log does: the log handler enqueues, a timer sends
-- JSON arrays with resty.http, and a failed send is retried by the queue.
local Queue = require "kong.tools.queue"
local http = require "resty.http"
local cjson = require "cjson"
local kong = kong

local QueueLog = {
  PRIORITY = 12,
  VERSION = "1.0.0",
}

local function send(conf, entries)
  local httpc = http.new()
  local res, err = httpc:request_uri(conf.endpoint, {
    method = "POST",
    body = cjson.encode(entries),
    headers = { ["Content-Type"] = "application/json" },
  })
  if not res then return nil, err end
  if res.status >= 300 then return nil, "endpoint answered " .. res.status end
  return true
end

function QueueLog:log(conf)
  local queue_conf = Queue.get_plugin_params("queue-log", conf, conf.queue_name)
  local ok, err = Queue.enqueue(queue_conf, send, conf, {
    path = kong.request.get_path(),
    queue = queue_conf.name,
    tag = queue_conf.log_tag,
    batch_size = queue_conf.max_batch_size,
  })
  if not ok then kong.log.err("could not queue the entry: ", err) end
end

return QueueLog

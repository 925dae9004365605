-- Asks an HTTP service about each request with resty.http (as auth and logging
-- plugins do) and passes its answer upstream; the service can deny the request.
local http = require "resty.http"
local kong = kong
local concat, tostring, type = table.concat, tostring, type

local HttpCaller = {
  PRIORITY = 950,
  VERSION = "1.0.0",
}

-- connect + request + body_reader: lua-resty-http's streaming interface
local function streamed(httpc, conf, who)
  local parsed, err = httpc:parse_uri(conf.url, false)
  if not parsed then return nil, err end
  local ok
  ok, err = httpc:connect({ scheme = parsed[1], host = parsed[2], port = parsed[3] })
  if not ok then return nil, err end
  local res
  res, err = httpc:request({
    method = conf.method, path = parsed[4], query = { who = who },
    headers = { ["X-Who"] = who }, body = { "streamed:", who },
  })
  if not res then return nil, err end
  local chunks = {}
  repeat
    local chunk = res.body_reader(4)
    chunks[#chunks + 1] = chunk
  until not chunk
  res.body = concat(chunks)
  res.chunks = #chunks
  httpc:set_keepalive()
  return res
end

function HttpCaller:access(conf)
  local who = kong.request.get_header("X-Who") or "anonymous"
  local httpc = http.new()
  httpc:set_timeouts(conf.timeout, conf.timeout, conf.timeout)
  local res, err
  if conf.streamed then
    res, err = streamed(httpc, conf, who)
  else
    res, err = httpc:request_uri(conf.url, {
      method = conf.method,
      query = { who = who },
      body = "hello from " .. who,
      headers = { ["Content-Type"] = "text/plain", ["X-Multi"] = { "1", "2" } },
    })
  end
  if not res then
    return kong.response.exit(502, { message = "service said: " .. tostring(err) })
  end
  if res.status == 403 then
    return kong.response.exit(403, { message = res.body })
  end
  kong.service.request.set_header("X-Answer", res.body)
  kong.service.request.set_header("X-Answer-Status", res.status)
  local multi = res.headers["x-multi"]
  kong.ctx.plugin.answer = {
    type = res.headers["content-type"], reason = res.reason,
    multi = type(multi) == "table" and concat(multi, ",") or multi,
    chunks = res.chunks,
  }
end

function HttpCaller:header_filter(conf)
  local answer = kong.ctx.plugin.answer
  if answer then
    kong.response.set_header("X-Answer-Type", answer.type)
    kong.response.set_header("X-Answer-Reason", answer.reason)
    kong.response.set_header("X-Answer-Multi", answer.multi)
    if answer.chunks then kong.response.set_header("X-Answer-Chunks", answer.chunks) end
  end
end

return HttpCaller

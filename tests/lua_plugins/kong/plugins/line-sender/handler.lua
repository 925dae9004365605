-- Test plugin: sends one JSON line per request to a TCP or UDP collector from a timer
-- started in the log phase (the way Kong's tcp-log and udp-log send).
local cjson = require "cjson.safe"

local LineSender = { PRIORITY = 7, VERSION = "1.0.0" }

local function send(premature, conf, line)
  if premature then return end
  if conf.protocol == "udp" then
    local sock = ngx.socket.udp()
    local ok, err = sock:setpeername(conf.host, conf.port)
    if not ok then return kong.log.err("udp: ", err) end
    sock:send(line)
    sock:close()
    return
  end
  local sock = ngx.socket.tcp()
  sock:settimeout(conf.timeout)
  local ok, err = sock:connect(conf.host, conf.port)
  if not ok then return kong.log.err("tcp: ", err) end
  ok, err = sock:send(line)
  if not ok then return kong.log.err("tcp: ", err) end
  sock:setkeepalive(60000, 2)
end

function LineSender:log(conf)
  local entry = { path = kong.request.get_path(), status = kong.response.get_status() }
  local ok, err = ngx.timer.at(0, send, conf, cjson.encode(entry) .. "\n")
  if not ok then kong.log.err("timer: ", err) end
end

return LineSender

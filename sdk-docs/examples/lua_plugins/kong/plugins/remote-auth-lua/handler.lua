-- remote-auth-lua: ask an HTTP service whether the request's Authorization header
-- is valid, and retry after a pause when the service cannot be reached.  The call
-- (resty.http) and the pause (ngx.sleep) suspend this handler only: the worker
-- serves other requests meanwhile.
local http = require "resty.http"
local cjson = require "cjson.safe"

local kong, ngx = kong, ngx

local RemoteAuth = {
  PRIORITY = 1100,
  VERSION = "1.0.0",
}

local function ask(conf, token)
  local httpc = http.new()
  httpc:set_timeout(conf.timeout)
  return httpc:request_uri(conf.url, {
    method = "GET",
    headers = { Authorization = token },
  })
end

function RemoteAuth:access(conf)
  local token = kong.request.get_header("Authorization")
  if not token then
    return kong.response.exit(401, { message = "Unauthorized" })
  end

  local res, err
  for attempt = 1, conf.retries + 1 do
    res, err = ask(conf, token)
    if res then
      break
    end
    kong.log.warn("auth service call ", attempt, " failed: ", err)
    if attempt <= conf.retries then
      ngx.sleep(conf.retry_delay / 1000)
    end
  end
  if not res then
    return kong.response.exit(503, { message = "Authentication service unavailable" })
  end
  if res.status ~= 200 then
    return kong.response.exit(403, { message = "Forbidden" })
  end

  -- the service may name the user in a JSON body: { "user": "alice" }
  local answer = cjson.decode(res.body)
  if type(answer) == "table" and type(answer.user) == "string" then
    kong.service.request.set_header("X-Authenticated-User", answer.user)
  end
end

return RemoteAuth

-- compat-fetch: fetches a document with LuaSocket's client, as plugins written for
-- Kong do (jwt-keycloak downloads OpenID discovery documents and JWKS this way),
-- through kong.cache:get so the download happens once: socket.http / ssl.https (the
-- simple and the generic form with an ltn12 sink), socket.gettime, socket.sleep.
local http = require "socket.http"
local https = require "ssl.https"
local ltn12 = require "ltn12"
local socket = require "socket"
local cjson = require "cjson.safe"

local CompatFetch = { PRIORITY = 900, VERSION = "1.0.0" }

local function fetch(url, generic, secure)
  local client = secure and https or http
  if not generic then
    local body, code, headers = client.request(url)
    if not body then return nil, code end
    return { code = code, body = body, type = headers["content-type"] }
  end
  local chunks = {}
  local ok, code, headers, status = client.request {
    url = url, method = "POST", sink = ltn12.sink.table(chunks),
    source = ltn12.source.string("ping"), headers = { ["content-length"] = 4, ["x-from"] = "lua" },
  }
  if not ok then return nil, code end
  return { code = code, body = table.concat(chunks), type = headers["content-type"], status = status }
end

function CompatFetch:access(conf)
  local started = socket.gettime()
  socket.sleep(conf.pause)
  local res, err = kong.cache:get("compat-fetch:" .. conf.url .. tostring(conf.generic), nil, fetch,
    conf.url, conf.generic, conf.secure)
  if not res then
    return kong.response.exit(502, { message = "fetch failed: " .. tostring(err) })
  end
  local doc = cjson.decode(res.body)
  kong.response.set_header("X-Fetch-Code", res.code)
  kong.response.set_header("X-Fetch-Type", res.type)
  kong.response.set_header("X-Fetch-Status", res.status or "")
  kong.response.set_header("X-Fetch-Method", doc and doc.method or "?")
  kong.response.set_header("X-Fetch-Body", doc and doc.body or res.body)
  local from = doc and doc.headers and doc.headers["X-From"]
  kong.response.set_header("X-Fetch-From", type(from) == "string" and from or "")
  kong.response.set_header("X-Fetch-Waited", socket.gettime() - started >= conf.pause)
end

return CompatFetch

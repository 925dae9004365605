-- Test plugin: the client must come from `conf.allow` (resty.iputils on
-- binary_remote_addr); a signed session cookie is read or issued (resty.cookie,
-- resty.hmac, resty.jit-uuid), and the session id goes upstream in X-Session.
local ck = require "resty.cookie"
local uuid = require "resty.jit-uuid"
local hmac = require "resty.hmac"
local iputils = require "resty.iputils"

uuid.seed()
iputils.enable_lrucache()

local Handler = { PRIORITY = 950, VERSION = "1.0.0" }

local function sign(secret, id)
  return hmac:new(secret, hmac.ALGOS.SHA256):final(id, true)
end

function Handler:access(conf)
  local ranges = iputils.parse_cidrs(conf.allow)
  if not iputils.binip_in_cidrs(ngx.var.binary_remote_addr, ranges) then
    return kong.response.exit(403, { message = "not from an allowed network" })
  end
  local cookie, err = ck:new()
  if not cookie then return kong.response.exit(500, { message = err }) end
  local id, mac = cookie:get("sid"), cookie:get("sid_mac")
  if id and uuid.is_valid(id) and mac == sign(conf.secret, id) then
    kong.service.request.set_header("X-Session", id)
    return
  end
  id = uuid()
  cookie:set({ key = "sid", value = id, path = "/", httponly = true, samesite = "Lax" })
  cookie:set({ key = "sid_mac", value = sign(conf.secret, id), path = "/" })
  kong.service.request.set_header("X-Session", "new")
end

return Handler

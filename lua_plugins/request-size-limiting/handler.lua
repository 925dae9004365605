-- request-size-limiting (Kong 3.x, PRIORITY 951): refuses request bodies larger than
-- `allowed_payload_size` `size_unit`s with 413 {"message":"Request size limit exceeded"}
-- (417 when the client sent `Expect: 100-continue`, so it never sends the body).  The
-- Content-Length is checked when present; a body without one (chunked) is measured when
-- the gateway buffered it, and otherwise limited while it streams to the upstream: the
-- plugin sets the request's body limit (kong.ctx.shared["moongate.request_body_limit"],
-- read by the host's streaming body reader, host/proxy/body.py), which stops reading at
-- the first byte over the limit.  With `require_content_length`, a request that has
-- neither Content-Length nor chunked transfer encoding gets 411.
local kong_meta = require "kong.meta"
local strip = require("kong.tools.string").strip

local kong = kong
local tonumber = tonumber

local BODY_LIMIT_KEY = "moongate.request_body_limit"
local FACTOR = {
  bytes = 1,
  kilobytes = 1024,
  megabytes = 1048576,
}

local RequestSizeLimitingHandler = {
  PRIORITY = 951,
  VERSION = kong_meta.version,
}

local function check_size(length, allowed)
  if length > allowed then
    local expect = kong.request.get_header("expect")
    if expect and strip(expect:lower()) == "100-continue" then
      return kong.response.error(417, "Request size limit exceeded")
    end
    return kong.response.error(413, "Request size limit exceeded")
  end
end

function RequestSizeLimitingHandler:access(conf)
  local allowed = conf.allowed_payload_size * FACTOR[conf.size_unit]
  local length = tonumber(kong.request.get_header("content-length"))
  if length then
    return check_size(length, allowed)
  end

  local te = kong.request.get_header("transfer-encoding")
  local chunked = te ~= nil and te:lower():find("chunked", 1, true) ~= nil
  if conf.require_content_length and not chunked then
    return kong.response.error(411, "A valid Content-Length header is required")
  end

  local body = kong.request.get_raw_body()
  if body then
    return check_size(#body, allowed)
  end
  -- too large for the gateway's body buffer: limited while it streams
  kong.ctx.shared[BODY_LIMIT_KEY] = allowed
end

return RequestSizeLimitingHandler

-- strings-demo: a test plugin that uses ngx.re, base64, HMAC and cjson the way Kong
-- plugins do.  access reads a base64-encoded JSON document from the X-Payload header,
-- checks its `name` with a named-capture regex, signs it with HMAC-SHA1 and passes the
-- results upstream in headers; with `"echo": true` it answers itself with a JSON body.
-- header_filter reports how many words the name had.
local cjson = require "cjson.safe"
local split = require("ngx.re").split

local kong = kong
local ngx = ngx
local re_match, re_gsub = ngx.re.match, ngx.re.gsub

local StringsDemo = {
  PRIORITY = 900,
  VERSION = "1.0.0",
}

local function bad_request(message)
  return kong.response.exit(400, { message = message })
end

function StringsDemo:access(conf)
  local raw = kong.request.get_header("x-payload")
  if not raw then
    return bad_request("missing payload")
  end
  local text = ngx.decode_base64(raw)
  if not text then
    return bad_request("payload is not base64")
  end
  local doc, err = cjson.decode(text)
  if not doc then
    return bad_request("bad payload: " .. err)
  end

  local name = type(doc.name) == "string" and doc.name or ""
  local m = re_match(name, [[^(?<first>\w+)\s+(?<last>\w+)$]], "jo")
  if not m then
    return kong.response.exit(422, { message = "name must be two words" })
  end
  local tags = split(doc.tags or "", [[\s*,\s*]], "jo")
  local signature = ngx.encode_base64(ngx.hmac_sha1(conf.secret, name))
  local _, words = re_gsub(name, [[\w+]], "", "jo")
  kong.ctx.plugin.words = words

  if doc.echo then
    local body = cjson.encode({
      first = m.first,
      last = m.last,
      initials = re_gsub(name, [[(\w)\w*]], "$1.", "jo"),
      shout = (re_gsub(name, [[\w+]], function(w) return w[0]:upper() end, "jo")),
      tags = setmetatable(tags, cjson.array_mt),
      signature = signature,
      nothing = cjson.null,
    })
    return kong.response.exit(200, body, { ["Content-Type"] = "application/json" })
  end

  kong.service.request.set_header("X-First", m.first)
  kong.service.request.set_header("X-Last", m.last)
  kong.service.request.set_header("X-Signature", signature)
  kong.service.request.set_header("X-Tags", cjson.encode(setmetatable(tags, cjson.array_mt)))
end

function StringsDemo:header_filter(conf)
  kong.response.set_header("X-Word-Count", tostring(kong.ctx.plugin.words or 0))
end

return StringsDemo

-- compat-compress: the ways plugins use `zlib` (lua-zlib) and `inspect`.  Moesif's way:
-- deflate a JSON payload in one `stream(data, "finish")` call and send it on (as
-- base64 text); a gzip body (marked X-Compressed: gzip) is inflated before it goes
-- upstream; a CRC-32 of the body is
-- sent along; and the plugin's config is logged (and sent) with inspect(), as
-- api-transformer logs its errors.
local zlib = require "zlib"
local inspect = require "inspect"
local cjson = require "cjson"

local CompatCompress = { PRIORITY = 890, VERSION = "1.0.0" }

function CompatCompress:access(conf)
  local body = kong.request.get_raw_body() or ""
  if kong.request.get_header("X-Compressed") == "gzip" then
    local plain, eof = zlib.inflate()(body)
    body = plain
    kong.service.request.clear_header("X-Compressed")
    kong.service.request.set_header("X-Inflated", tostring(eof))
  end
  local crc = zlib.crc32()
  crc(body:sub(1, 3))
  kong.service.request.set_header("X-Crc32", string.format("%08x", crc(body:sub(4))))
  if conf.mode == "deflate" then
    local payload = cjson.encode({ events = { body } })
    local compressed, eof, bytes_in = zlib.deflate()(payload, "finish")
    kong.service.request.set_header("X-Payload-Encoding", "deflate")
    kong.service.request.set_header("X-Deflated", tostring(eof) .. "/" .. bytes_in)
    kong.service.request.set_raw_body(ngx.encode_base64(compressed))
  else
    kong.service.request.set_raw_body(body)
  end
  local shown = inspect(conf, { newline = " ", indent = "" })
  kong.log.debug("config: ", inspect(conf))
  kong.service.request.set_header("X-Inspect", shown)
end

return CompatCompress

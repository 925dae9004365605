-- compat-headers-writer: changes the request's headers for the upstream the way
-- authentication plugins do (key-auth sets X-Consumer-ID and hides the credential),
-- so that compat-headers-reader, which runs after it, can show what it sees.
local CompatHeadersWriter = { PRIORITY = 1250, VERSION = "1.0.0" }

function CompatHeadersWriter:access(conf)
  kong.service.request.set_header("X-Consumer-ID", "c-42")
  kong.service.request.add_header("X-Tag", "added")
  kong.service.request.clear_header("X-Api-Key")
  if conf.host then kong.service.request.set_header("Host", conf.host) end
end

return CompatHeadersWriter

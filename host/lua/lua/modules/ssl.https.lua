-- ssl.https (LuaSec's HTTPS client): socket.http's API with https as the default
-- scheme; the TLS is the host's.  `verify = "peer"` checks the server's certificate
-- (LuaSec's default is "none", which this follows); other LuaSec TLS options
-- (protocol, certificates, ciphers) are ignored.
local _, H = ...
local http = H.require("socket.http")

local _M = { PORT = 443, TIMEOUT = 60 }

function _M.request(reqt, body)
  return http.request_with("https", reqt, body)
end

return _M

-- ngx.base64 (lua-resty-core): URL-safe base64 without padding, as the jwt plugin uses.
local _, H = ...
local ngx = H.ngx
local gsub, type, error = string.gsub, type, error

local _M = {}

--- base64url encoding of `s` (RFC 4648 §5), without padding.
function _M.encode_base64url(s)
  if type(s) ~= "string" then
    error("must provide a string", 2)
  end
  local b64 = ngx.encode_base64(s, true)
  return (gsub(b64, "[+/]", { ["+"] = "-", ["/"] = "_" }))
end

--- Decode base64url (padding optional); nil, "invalid input" when it is not base64url.
function _M.decode_base64url(s)
  if type(s) ~= "string" then
    error("must provide a string", 2)
  end
  if s:find("[+/]") then
    return nil, "invalid input"
  end
  local decoded = ngx.decode_base64((gsub(s, "[-_]", { ["-"] = "+", ["_"] = "/" })))
  if decoded == nil then
    return nil, "invalid input"
  end
  return decoded
end

return _M

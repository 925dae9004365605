-- resty.random (lua-resty-string): bytes(len, strong) -> a string of `len` random bytes
-- from the operating system's CSPRNG (both modes: it is at least as strong as
-- OpenSSL's RAND_bytes), or nil when `len` is out of range.
local B = ...
local type, tonumber, error = type, tonumber, error
local py_bytes = B.bytes

local _M = { _VERSION = "0.16" }

function _M.bytes(len, strong)
  local n = tonumber(len)
  if not n then
    error("bad argument #1 to 'bytes' (number expected, got " .. type(len) .. ")", 2)
  end
  return py_bytes(n - n % 1)
end

return _M

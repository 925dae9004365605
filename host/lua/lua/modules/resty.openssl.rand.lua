-- resty.openssl.rand (lua-resty-openssl): rand.bytes(length, private?, strength?) ->
-- `length` random bytes from the operating system's CSPRNG (through resty.random), or
-- `nil, err` when an argument is not a number.
local _, H = ...
local type = type
local random_bytes = H.require("resty.random").bytes

local _M = {}

function _M.bytes(length, _private, strength)
  if type(length) ~= "number" then
    return nil, "rand.bytes: expect a number at #1"
  elseif strength and type(strength) ~= "number" then
    return nil, "rand.bytes: expect a number at #3"
  end
  local s = random_bytes(length)
  if s == nil then return nil, "rand.bytes: invalid length " .. length end
  return s
end

return _M

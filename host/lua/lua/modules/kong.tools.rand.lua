-- `kong.tools.rand`: random bytes and random strings (kong/tools/rand.lua), from
-- Python's `secrets` (the OS's CSPRNG).
local B = ...
local type, error, floor = type, error, math.floor

local _M = {}

local rand_bytes = B.rand_bytes

--- `n` random bytes (the `urandom` flag is accepted; every source is the OS's).
function _M.get_rand_bytes(n, urandom)
  if type(n) ~= "number" or n < 0 or n ~= floor(n) then
    error("bad argument #1 to 'get_rand_bytes' (non-negative integer expected)", 2)
  end
  return rand_bytes(n)
end

--- A random 32-character string of letters, digits (base64 of 24 random bytes,
--- with "/" and "+" replaced by random letters).
_M.random_string = B.random_string

return _M

-- `require "table.nkeys"`: OpenResty LuaJIT's table.nkeys(t): the number of
-- non-nil entries in the array and hash parts together.
local pairs, type, error = pairs, type, error

return function(t)
  if type(t) ~= "table" then
    error("bad argument #1 to 'nkeys' (table expected, got " .. type(t) .. ")", 2)
  end
  local n = 0
  for _ in pairs(t) do
    n = n + 1
  end
  return n
end

-- `require "table.isarray"`: OpenResty LuaJIT's table.isarray(t): true when every
-- key is an integral number (holes and keys below 1 are allowed, as in
-- lj_tab_isarray); an empty table is an array.
local pairs, type, error, floor = pairs, type, error, math.floor

return function(t)
  if type(t) ~= "table" then
    error("bad argument #1 to 'isarray' (table expected, got " .. type(t) .. ")", 2)
  end
  for k in pairs(t) do
    if type(k) ~= "number" or floor(k) ~= k then
      return false
    end
  end
  return true
end

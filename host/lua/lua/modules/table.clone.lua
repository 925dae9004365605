-- `require "table.clone"`: OpenResty LuaJIT's table.clone(t), a shallow copy of a
-- table's array and hash parts (the metatable is not copied).
local pairs, type, error = pairs, type, error
local _, H = ...
local new_tab = H.require("table.new")

return function(t)
  if type(t) ~= "table" then
    error("bad argument #1 to 'clone' (table expected, got " .. type(t) .. ")", 2)
  end
  local n = #t
  local copy = new_tab(n, 0)
  for k, v in pairs(t) do
    copy[k] = v
  end
  return copy
end

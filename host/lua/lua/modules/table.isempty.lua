-- `require "table.isempty"`: OpenResty LuaJIT's table.isempty(t): true when the
-- table holds no non-nil value in either its array or its hash part.
local next, type, error = next, type, error

return function(t)
  if type(t) ~= "table" then
    error("bad argument #1 to 'isempty' (table expected, got " .. type(t) .. ")", 2)
  end
  return next(t) == nil
end

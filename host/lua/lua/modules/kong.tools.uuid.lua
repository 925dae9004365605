-- `kong.tools.uuid`: random (version 4) UUIDs and Kong's UUID syntax check
-- (kong/tools/uuid.lua).  UUIDs come from Python's uuid.uuid4 (os.urandom).
local B = ...
local type, find = type, string.find

local _M = {}

--- A new random UUID string, lowercase: "xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx".
_M.uuid = B.uuid4

local UUID = "^%x%x%x%x%x%x%x%x%-%x%x%x%x%-%x%x%x%x%-%x%x%x%x%-%x%x%x%x%x%x%x%x%x%x%x%x$"

--- Whether `str` is 36 hex digits and dashes in the 8-4-4-4-12 layout (any case,
--- any version: Kong does not check the version digits).
function _M.is_valid_uuid(str)
  if type(str) ~= "string" or #str ~= 36 then
    return false
  end
  return find(str, UUID) ~= nil
end

return _M

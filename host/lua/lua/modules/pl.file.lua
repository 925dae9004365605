-- pl.file (Penlight): `read(path, is_bin?)` returns the file's contents or nil, err,
-- for the key and certificate files plugins are configured with (kong-upstream-jwt's
-- `private_key_location`).  Only trusted plugins may require it (the sandbox's module
-- list leaves it out).  Writing, copying, moving and deleting files are not offered:
-- those functions return nil, err.
local B = ...
local type, error = type, error
local py_read = B.read

local _M = {}

function _M.read(path, _is_bin)
  if type(path) ~= "string" then
    error("argument 1 expected a 'string', got a '" .. type(path) .. "'", 2)
  end
  return py_read(path)
end

local function refused(what)
  return function()
    return nil, "pl.file." .. what .. ": plugins cannot change files in Moongate"
  end
end

_M.write = refused("write")
_M.copy = refused("copy")
_M.move = refused("move")
_M.delete = refused("delete")

return _M

-- lfs (LuaFileSystem): present so plugins that require it load, but Moongate gives
-- plugins no file system access: every function returns `nil, err` (as lfs does when
-- a call fails) with the message below, and lfs.dir raises, as lfs.dir does on a path
-- it cannot open.  Kong's request-size-limiting only calls lfs.attributes on a request
-- body spooled to a temporary file; Moongate keeps bodies in memory
-- (ngx.req.get_body_file() is nil), so that call never happens.
local error = error

local REFUSED = "Moongate gives plugins no file system access"

local _M = { _VERSION = "LuaFileSystem 1.8.0 (Moongate: no file system access)" }

local function refuse() return nil, REFUSED end

for _, name in ipairs({ "attributes", "symlinkattributes", "currentdir", "chdir", "mkdir",
                        "rmdir", "touch", "link", "lock", "unlock", "lock_dir", "setmode" }) do
  _M[name] = refuse
end

function _M.dir(path)
  error("cannot open " .. tostring(path) .. ": " .. REFUSED, 2)
end

return _M

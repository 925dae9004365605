-- `kong.meta`: the Kong version Moongate implements (host/version.py), in the
-- shape of Kong's kong/meta.lua.  Bundled plugins set `VERSION = kong_meta.version`.
local B = ...
local tostring, format = tostring, string.format

local major, minor, patch, suffix = B.version_parts()

local version = setmetatable({
  major = major,
  minor = minor,
  patch = patch,
  suffix = suffix,
}, {
  __tostring = function(t)
    return format("%d.%d.%d%s", t.major, t.minor, t.patch, t.suffix or "")
  end,
})

local text = tostring(version)

return {
  _NAME = "kong",
  _VERSION = text,
  _VERSION_TABLE = version,
  _SERVER_TOKENS = "kong/" .. text,
  version = text,
  _DEPENDENCIES = {
    nginx = { "1.27.1.2" },
  },
}

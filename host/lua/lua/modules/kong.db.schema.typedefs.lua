-- kong.db.schema.typedefs for Lua plugins: Kong's shared field types.
--
-- Each typedef is defined once, in Python (host/schema/typedefs.py and
-- host/lua/modules/_schema_typedefs.py), and arrives here as a Lua table; its
-- validators are functions Lua can call (`typedefs.host.custom_validator("x")` gives
-- `true` or `nil, "message"`) and turn back into the Python validators when the
-- plugin's schema is compiled.  As in Kong:
--   * `typedefs.port { default = 80 }` returns a new definition with those attributes;
--   * reading a typedef that does not exist raises.
-- Added on the Lua side: lua_code values must compile as Lua (Kong's sandbox check).
local backing, H = ...

local Schema = H.require("kong.db.schema")

local type, tostring, load, setmetatable, error = type, tostring, load, setmetatable, error

local typedefs = {}
for name, definition in pairs(backing.definitions()) do
  typedefs[name] = Schema.define(definition)
end

local UNTRUSTED_OFF = "loading of untrusted Lua code disabled because "
  .. "'untrusted_lua' config option is set to 'off'"

-- Kong checks lua_code snippets by compiling them (never running them)
local function validate_lua_expression(code)
  if backing.untrusted_lua() == "off" then
    return false, "Error parsing function: " .. UNTRUSTED_OFF
  end
  local fn, err = load(code, code, "t", {})
  if not fn then
    return false, "Error parsing function: " .. tostring(err)
  end
  return true
end

local lua_code = typedefs.lua_code
if type(lua_code) == "table" and type(lua_code.values) == "table" then
  lua_code.values.custom_validator = validate_lua_expression
end

return setmetatable(typedefs, {
  __index = function(_, name)
    error("schema typedef error: definition " .. tostring(name) .. " does not exist", 2)
  end,
})

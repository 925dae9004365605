-- `kong.vendor.classic`: the small class model (rxi's "classic") Kong 0.x-2.x
-- shipped and BasePlugin is built on.
--
--   local Object = require "kong.vendor.classic"
--   local Point = Object:extend()            -- a class; Point.super == Object
--   function Point:new(x, y) self.x, self.y = x, y end
--   local p = Point(1, 2)                    -- __call: a new instance, then p:new(1, 2)
--   p:is(Point), p:is(Object)                -- true, true
--   Point:implement(Mixin)                   -- copy Mixin's functions Point lacks
--
-- A class is its instances' metatable (__index = the class itself); metamethods
-- (fields starting with "__") are copied down to subclasses so they keep working.
local pairs, type, setmetatable, getmetatable = pairs, type, setmetatable, getmetatable
local find = string.find

local Object = {}
Object.__index = Object

--- The constructor; classes override it.
function Object:new()
end

--- A subclass of this class.
function Object:extend()
  local cls = {}
  for k, v in pairs(self) do
    if type(k) == "string" and find(k, "__", 1, true) == 1 then
      cls[k] = v
    end
  end
  cls.__index = cls
  cls.super = self
  setmetatable(cls, self)
  return cls
end

--- Copy the functions of each given class that this class does not have yet.
function Object:implement(...)
  for _, other in pairs({ ... }) do
    for k, v in pairs(other) do
      if self[k] == nil and type(v) == "function" then
        self[k] = v
      end
    end
  end
end

--- Whether this instance (or class) derives from class T.
function Object:is(T)
  local mt = getmetatable(self)
  while mt do
    if mt == T then
      return true
    end
    mt = getmetatable(mt)
  end
  return false
end

function Object:__tostring()
  return "Object"
end

--- Calling a class makes an instance and runs its `new` with the arguments.
function Object:__call(...)
  local obj = setmetatable({}, self)
  obj:new(...)
  return obj
end

return Object

-- cjson.safe: cjson whose encode/decode return nil, err instead of raising (lua-cjson's
-- cjson.safe).  A wrong argument count still raises, as in lua-cjson; new() gives a
-- fresh safe instance with its own configuration.
local _, H = ...
local cjson = H.require("cjson")
local select, pcall, error = select, pcall, error

local function protect(fn, fname)
  return function(...)
    if select("#", ...) ~= 1 then
      error("bad argument #1 to '" .. fname .. "' (expected 1 argument)", 2)
    end
    local ok, res = pcall(fn, ...)
    if ok then return res end
    return nil, res
  end
end

local function safe(m)
  m.encode = protect(m.encode, "encode")
  m.decode = protect(m.decode, "decode")
  m.new = function() return safe(cjson.new()) end
  return m
end

return safe(cjson.new())

-- resty.string (lua-resty-string): to_hex and atoi in pure Lua.  It also builds the
-- hash classes of resty.md5 / resty.sha1 / resty.sha256 / resty.sha512 (H.resty_hash):
-- objects collect update() chunks in Lua and final() hashes them in one crossing.
local B, H = ...

local type, tonumber, setmetatable, error = type, tonumber, setmetatable, error
local format, gsub, match, concat = string.format, string.gsub, string.match, table.concat
local py_digest = B.digest

local _M = { _VERSION = "0.16" }

local HEX = {}
for b = 0, 255 do HEX[string.char(b)] = format("%02x", b) end

function _M.to_hex(s)
  if type(s) ~= "string" then
    error("bad argument #1 to 'to_hex' (string expected, got " .. type(s) .. ")", 2)
  end
  return (gsub(s, ".", HEX))
end

--- C atoi: leading spaces, an optional sign, digits; 0 when there are none
function _M.atoi(s)
  if type(s) ~= "string" then
    error("bad argument #1 to 'atoi' (string expected, got " .. type(s) .. ")", 2)
  end
  return tonumber(match(s, "^%s*([+-]?%d+)")) or 0
end

-- chunks kept before update() folds them into one string
local MAX_PARTS = 64

--- A resty hash class (resty.sha256 & co.): new(), update(s), final(), reset().
function H.resty_hash(algorithm)
  local class = { _VERSION = "0.16" }
  local mt = { __index = class }

  function class.new(_)
    return setmetatable({ parts = {}, n = 0 }, mt)
  end

  function class.update(self, s)
    if type(s) ~= "string" then
      error("bad argument #1 to 'update' (string expected, got " .. type(s) .. ")", 2)
    end
    local n = self.n + 1
    self.parts[n] = s
    if n >= MAX_PARTS then
      self.parts = { concat(self.parts, "", 1, n) }
      n = 1
    end
    self.n = n
    return true
  end

  function class.final(self)
    return py_digest(algorithm, concat(self.parts, "", 1, self.n))
  end

  function class.reset(self)
    self.parts, self.n = {}, 0
    return true
  end

  return class
end

return _M

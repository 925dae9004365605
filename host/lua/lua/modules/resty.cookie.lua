-- resty.cookie (cloudflare/lua-resty-cookie): `ck:new()` reads the request's Cookie
-- header; `:get(name)`, `:get_all()` (nil, "no cookie found in the current request"
-- without one), `:get_cookie_size()`, and `:set{ key, value, path, domain, expires,
-- max_age, secure, httponly, samesite, extension }`, which adds a Set-Cookie line to
-- the response (the same line twice is added once).  As the original, a value ends
-- at a space, a tab or a semicolon.
local _, H = ...

local type, setmetatable = type, setmetatable
local gmatch, match = string.gmatch, string.match

local _M = { _VERSION = "0.01" }

function _M.new(self)
  return setmetatable({ _cookie = H.ngx.var.http_cookie }, { __index = self })
end

local function parse(text)
  local out = {}
  for part in gmatch(text, "[^;]+") do
    local key, value = match(part, "^[ \t]*([^=]-)=([^ \t]*)")
    if key and key ~= "" then out[key] = value end
  end
  return out
end

local function cookies(self)
  if not self._cookie then return nil, "no cookie found in the current request" end
  local all = self.cookie_table
  if all == nil then
    all = parse(self._cookie)
    self.cookie_table = all
  end
  return all
end

function _M.get(self, key)
  local all, err = cookies(self)
  if not all then return nil, err end
  return all[key]
end

function _M.get_all(self)
  return cookies(self)
end

function _M.get_cookie_size(self)
  return self._cookie and #self._cookie or 0
end

local SAMESITE = { Strict = true, Lax = true, None = true }

local function bake(c)
  if not c.key or not c.value then return nil, 'missing cookie field "key" or "value"' end
  local max_age = c.max_age or c["max-age"]
  local samesite = c.samesite
  if samesite and not SAMESITE[samesite] then
    H.ngx.log(H.ngx.WARN, "SameSite value must be 'Strict', 'Lax' or 'None'")
    samesite = nil
  end
  return c.key .. "=" .. c.value
    .. (c.expires and "; Expires=" .. c.expires or "")
    .. (max_age and "; Max-Age=" .. max_age or "")
    .. (c.domain and "; Domain=" .. c.domain or "")
    .. (c.path and "; Path=" .. c.path or "")
    .. (c.secure and "; Secure" or "")
    .. (c.httponly and "; HttpOnly" or "")
    .. (samesite and "; SameSite=" .. samesite or "")
    .. (c.extension and "; " .. c.extension or "")
end

function _M.set(self, cookie)
  local line, err = bake(cookie)
  if not line then return nil, err end
  local header = H.ngx.header
  local current = header["Set-Cookie"]
  local lines = {}
  if type(current) == "string" then
    lines[1] = current
  elseif type(current) == "table" then
    for i = 1, #current do lines[i] = current[i] end
  end
  for i = 1, #lines do
    if lines[i] == line then return true end
  end
  lines[#lines + 1] = line
  header["Set-Cookie"] = #lines == 1 and lines[1] or lines
  return true
end

return _M

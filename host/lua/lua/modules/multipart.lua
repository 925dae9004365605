-- multipart (Kong's lua-multipart): parse and edit multipart/form-data bodies.
--   local m = multipart(body, content_type_header)   -- or multipart.new(...)
--   m:get(name)            -> { name =, headers = { "Content-Disposition: ...", ... },
--                               value = } (the first part with that name) or nil
--   m:get_all()            -> { name = value }  (the first value of each name)
--   m:get_as_array(name)   -> { value, ... }     (every part with that name)
--   m:get_all_with_arrays() -> { name = value | { value, ... } }
--   m:get_all_as_arrays()  -> { name = { value, ... } }
--   m:set_simple(name, value, filename?, content_type?)  -- replace or add a part
--   m:delete(name)         -- every part with that name
--   m:tostring()           -> the body, with the boundary of the content type
-- A body without the boundary (or with no boundary in the content type) has no parts.
-- Pure Lua: one pass over the body with string.find.
local setmetatable, type, tostring, ipairs = setmetatable, type, tostring, ipairs
local find, sub, match, lower, gsub, format = string.find, string.sub, string.match,
  string.lower, string.gsub, string.format
local concat, remove = table.concat, table.remove

local MultipartData = {}
MultipartData.__index = MultipartData
-- a boundary for bodies built from scratch (no content type given)
MultipartData.RANDOM_BOUNDARY = "moongate" .. sub(tostring({}), 8)

--- The `name` parameter of a Content-Disposition header line, or nil.
local function disposition_name(line)
  local params = match(line, "^[Cc][Oo][Nn][Tt][Ee][Nn][Tt]%-[Dd][Ii][Ss][Pp][Oo][Ss][Ii][Tt][Ii][Oo][Nn]%s*:(.*)$")
  if not params then return nil end
  for param in (params .. ";"):gmatch("([^;]*);") do
    local key, value = match(param, "^%s*([%w%-_]+)%s*=%s*(.-)%s*$")
    if key and lower(key) == "name" then
      local quoted = match(value, '^"(.*)"$') or match(value, "^'(.*)'$")
      return quoted or value
    end
  end
  return nil
end

--- Parts of `body` delimited by `--boundary`: an array of { name, headers, value }.
local function decode(body, boundary)
  local parts = {}
  if not boundary then return parts end
  local delim = "--" .. boundary
  local s, e = find(body, delim, 1, true)
  while s do
    -- after a delimiter: "--" ends the body, otherwise the line break
    if sub(body, e + 1, e + 2) == "--" then break end
    local head_start = e + 1
    local eol = find(body, "\n", head_start, true)
    if not eol then break end
    local next_s, next_e = find(body, "\r\n" .. delim, eol + 1, true)
    if not next_s then
      next_s, next_e = find(body, "\n" .. delim, eol + 1, true)
    end
    local chunk = sub(body, eol + 1, (next_s or #body + 1) - 1)
    local hend, vstart = find(chunk, "\r\n\r\n", 1, true)
    if not hend then hend, vstart = find(chunk, "\n\n", 1, true) end
    local headers, name = {}, nil
    local raw_headers = hend and sub(chunk, 1, hend - 1) or ""
    for line in gsub(raw_headers, "\r", ""):gmatch("[^\n]+") do
      headers[#headers + 1] = line
      name = name or disposition_name(line)
    end
    if name ~= nil then
      parts[#parts + 1] = { name = name, headers = headers,
                            value = vstart and sub(chunk, vstart + 1) or "" }
    end
    if not next_s then break end
    s, e = next_s, next_e
  end
  return parts
end

function MultipartData.new(body, content_type)
  local self = setmetatable({}, MultipartData)
  if type(content_type) == "string" then
    local boundary = match(content_type, ";%s*[Bb][Oo][Uu][Nn][Dd][Aa][Rr][Yy]=([^;%s]+)")
    if boundary then
      boundary = match(boundary, '^"(.*)"$') or match(boundary, "^'(.*)'$") or boundary
      if boundary ~= "" then self._boundary = boundary end
    end
  end
  self._parts = decode(body or "", self._boundary)
  return self
end

setmetatable(MultipartData, { __call = function(cls, ...) return cls.new(...) end })

function MultipartData:get(name)
  for _, part in ipairs(self._parts) do
    if part.name == name then return part end
  end
  return nil
end

function MultipartData:get_as_array(name)
  local values = {}
  for _, part in ipairs(self._parts) do
    if part.name == name then values[#values + 1] = part.value end
  end
  return values
end

function MultipartData:get_all()
  local result = {}
  for _, part in ipairs(self._parts) do
    if result[part.name] == nil then result[part.name] = part.value end
  end
  return result
end

function MultipartData:get_all_as_arrays()
  local result = {}
  for _, part in ipairs(self._parts) do
    local values = result[part.name]
    if not values then
      values = {}
      result[part.name] = values
    end
    values[#values + 1] = part.value
  end
  return result
end

function MultipartData:get_all_with_arrays()
  local result = self:get_all_as_arrays()
  for name, values in pairs(result) do
    if #values == 1 then result[name] = values[1] end
  end
  return result
end

--- Replace the first part named `name` (or add one at the end).
function MultipartData:set_simple(name, value, filename, content_type)
  local disposition = format('Content-Disposition: form-data; name="%s"', name)
  if filename then disposition = disposition .. format('; filename="%s"', filename) end
  local headers = { disposition }
  if content_type then headers[2] = "Content-Type: " .. content_type end
  local part = { name = name, headers = headers, value = value }
  for i, existing in ipairs(self._parts) do
    if existing.name == name then
      self._parts[i] = part
      return
    end
  end
  self._parts[#self._parts + 1] = part
end

function MultipartData:delete(name)
  for i = #self._parts, 1, -1 do
    if self._parts[i].name == name then remove(self._parts, i) end
  end
end

--- The body: each part as delimiter, its header lines, a blank line and its value.
function MultipartData:tostring()
  local parts = self._parts
  if #parts == 0 then return "" end
  local boundary = self._boundary or MultipartData.RANDOM_BOUNDARY
  local out = {}
  for _, part in ipairs(parts) do
    out[#out + 1] = "--" .. boundary .. "\r\n"
    for _, header in ipairs(part.headers) do
      out[#out + 1] = header .. "\r\n"
    end
    out[#out + 1] = "\r\n"
    out[#out + 1] = tostring(part.value or "")
    out[#out + 1] = "\r\n"
  end
  out[#out + 1] = "--" .. boundary .. "--\r\n"
  return concat(out)
end

return MultipartData

-- A small multipart/form-data codec for request-transformer: parse a body into ordered
-- parts, look parts up by name, delete them, add simple (text) parts, and serialize
-- with the original boundary.  File parts are kept as they came.
local find, sub, match, lower = string.find, string.sub, string.match, string.lower
local concat = table.concat

local _M = {}
local mt = { __index = _M }

local function boundary_of(content_type)
  local b = match(content_type, ';%s*[Bb][Oo][Uu][Nn][Dd][Aa][Rr][Yy]="([^"]+)"')
    or match(content_type, ";%s*[Bb][Oo][Uu][Nn][Dd][Aa][Rr][Yy]=([^;%s]+)")
  return b
end

local function parse_part(raw)
  local head_end = find(raw, "\r\n\r\n", 1, true)
  if not head_end then return nil end
  local head, value = sub(raw, 1, head_end - 1), sub(raw, head_end + 4)
  local name
  for line in (head .. "\r\n"):gmatch("(.-)\r\n") do
    local k, v = match(line, "^([^:]+):%s*(.*)$")
    if k and lower(k) == "content-disposition" then
      name = match(v, ';%s*name="([^"]*)"') or match(v, ";%s*name=([^;%s]+)")
    end
  end
  return { name = name, head = head, value = value }
end

-- new(body, content_type) -> parts object (empty when the body does not parse)
function _M.new(body, content_type)
  local self = setmetatable({ boundary = boundary_of(content_type or "") or "", parts = {} }, mt)
  if self.boundary == "" or body == "" then return self end
  local delim = "--" .. self.boundary
  local pos = find(body, delim, 1, true)
  while pos do
    local start = pos + #delim
    if sub(body, start, start + 1) == "--" then break end
    start = start + 2 -- CRLF after the delimiter
    local next_pos = find(body, "\r\n" .. delim, start, true)
    if not next_pos then break end
    local part = parse_part(sub(body, start, next_pos - 1))
    if part then self.parts[#self.parts + 1] = part end
    pos = next_pos + 2
  end
  return self
end

function _M:get(name)
  for i = 1, #self.parts do
    if self.parts[i].name == name then return self.parts[i] end
  end
end

function _M:delete(name)
  local kept = {}
  for i = 1, #self.parts do
    if self.parts[i].name ~= name then kept[#kept + 1] = self.parts[i] end
  end
  self.parts = kept
end

function _M:set_simple(name, value)
  self.parts[#self.parts + 1] = {
    name = name,
    head = 'Content-Disposition: form-data; name="' .. name .. '"',
    value = value,
  }
end

function _M:tostring()
  local out, delim = {}, "--" .. self.boundary
  for i = 1, #self.parts do
    local p = self.parts[i]
    out[#out + 1] = delim .. "\r\n" .. p.head .. "\r\n\r\n" .. p.value .. "\r\n"
  end
  out[#out + 1] = delim .. "--\r\n"
  return concat(out)
end

return _M

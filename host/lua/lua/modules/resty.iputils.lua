-- resty.iputils (hamishforbes/lua-resty-iputils): IPv4 addresses and CIDR ranges as
-- numbers.  `ip2bin(ip)` -> number, octets | nil, err; `parse_cidr(cidr)` -> lower,
-- upper; `parse_cidrs(list)` -> ranges (bad entries logged and skipped);
-- `ip_in_cidrs(ip, ranges)` -> boolean | nil, err; `binip_in_cidrs(4 bytes, ranges)`
-- (ngx.var.binary_remote_addr); `enable_lrucache(size)` (accepted: parsing is cheap).
local _, H = ...

local type, tonumber, tostring, ipairs = type, tonumber, tostring, ipairs
local find, sub, byte, gmatch = string.find, string.sub, string.byte, string.gmatch
local floor = math.floor

local _M = { _VERSION = "0.3.0" }

function _M.enable_lrucache()
  return true
end

function _M.ip2bin(ip)
  if type(ip) ~= "string" then return nil, "IP must be a string" end
  local octets, n = {}, 0
  for part in gmatch(ip .. ".", "([^%.]*)%.") do
    n = n + 1
    if n > 4 then return nil, "Invalid IP" end
    octets[n] = part
  end
  if n ~= 4 then return nil, "Invalid IP" end
  local bin = 0
  for i = 1, 4 do
    local octet = tonumber(octets[i])
    if not octet or octet < 0 or octet > 255 or octet ~= floor(octet) then
      return nil, "Invalid octet: " .. tostring(octets[i])
    end
    octets[i] = octet
    bin = bin * 256 + octet
  end
  return bin, octets
end

function _M.parse_cidr(cidr)
  local slash = find(cidr, "/", 1, true)
  local net, mask = cidr, "32"
  if slash then net, mask = sub(cidr, 1, slash - 1), sub(cidr, slash + 1) end
  local bits = tonumber(mask)
  if not bits or bits > 32 or bits < 0 or bits ~= floor(bits) then
    return nil, "Invalid prefix: /" .. tostring(mask)
  end
  local bin, err = _M.ip2bin(net)
  if not bin then return nil, err end
  local size = 2 ^ (32 - bits)
  local lower = floor(bin / size) * size
  return lower, lower + size - 1
end

function _M.parse_cidrs(cidrs)
  local out = {}
  for _, cidr in ipairs(cidrs) do
    local lower, upper = _M.parse_cidr(cidr)
    if lower then
      out[#out + 1] = { lower, upper }
    else
      H.ngx.log(H.ngx.ERR, "Error parsing '", cidr, "': ", upper)
    end
  end
  return out
end

local function in_ranges(bin, cidrs)
  for _, range in ipairs(cidrs) do
    if bin >= range[1] and bin <= range[2] then return true end
  end
  return false
end

function _M.ip_in_cidrs(ip, cidrs)
  local bin, err = _M.ip2bin(ip)
  if not bin then return nil, err end
  return in_ranges(bin, cidrs)
end

function _M.binip_in_cidrs(bin_ip, cidrs)
  if type(bin_ip) ~= "string" or #bin_ip ~= 4 then return false, "invalid IP address" end
  local a, b, c, d = byte(bin_ip, 1, 4)
  return in_ranges(((a * 256 + b) * 256 + c) * 256 + d, cidrs)
end

return _M

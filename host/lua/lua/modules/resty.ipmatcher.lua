-- `resty.ipmatcher`: match an IP address against a set of IPv4/IPv6 addresses and
-- CIDR ranges (api7/lua-resty-ipmatcher's API, used by Kong's ip-restriction and
-- kong.tools.ip).  Addresses are parsed in Lua with inet_pton's rules.
--
--   local m, err = ipmatcher.new({ "127.0.0.1", "10.0.0.0/8", "fe80::/16" })
--   m:match("10.1.2.3")          --> true      (false, or false + err if invalid)
--   local v = ipmatcher.new_with_value({ ["10.0.0.0/8"] = "lan" })
--   v:match("10.1.2.3")          --> "lan"
--
-- Deviation: a CIDR whose prefix length is not a number in range (0-32 / 0-128)
-- is refused with "invalid ip address: ..." (the original read it as a full mask).
local type, tonumber, tostring, pairs, ipairs, error, setmetatable = type, tonumber, tostring, pairs, ipairs, error, setmetatable
local byte, sub, find, match, gmatch = string.byte, string.sub, string.find, string.match, string.gmatch
local sort = table.sort
local rshift = bit.rshift

local _M = { _VERSION = 0.3 }
local mt = { __index = _M }

-- one dotted-quad octet as inet_pton reads it: 1-3 digits, no leading zero, <= 255
local function octet(s)
  if #s > 3 or (#s > 1 and byte(s, 1) == 48) then return nil end
  local n = tonumber(s)
  if n > 255 then return nil end
  return n
end

local function ipv4_number(ip)
  local a, b, c, d = match(ip, "^(%d+)%.(%d+)%.(%d+)%.(%d+)$")
  if not a then return nil end
  a, b, c, d = octet(a), octet(b), octet(c), octet(d)
  if not (a and b and c and d) then return nil end
  return a * 16777216 + b * 65536 + c * 256 + d
end

--- An IPv4 address as an unsigned 32-bit number, or false.
local function parse_ipv4(ip)
  if type(ip) ~= "string" then return false end
  return ipv4_number(ip) or false
end
_M.parse_ipv4 = parse_ipv4

-- the 16-bit groups of one side of "::" (appended to `out`); `last` allows a
-- trailing dotted quad; nil when malformed
local function groups(s, out, last)
  if s == "" then return out end
  local parts, n = {}, 0
  for part in gmatch(s .. ":", "([^:]*):") do
    n = n + 1
    parts[n] = part
  end
  for i = 1, n do
    local part = parts[i]
    if i == n and last and find(part, ".", 1, true) then
      local v4 = ipv4_number(part)
      if not v4 then return nil end
      out[#out + 1] = rshift(v4, 16)
      out[#out + 1] = v4 % 65536
    elseif #part >= 1 and #part <= 4 and not find(part, "[^%x]") then
      out[#out + 1] = tonumber(part, 16)
    else
      return nil
    end
  end
  return out
end

--- An IPv6 address (optionally in brackets) as four unsigned 32-bit numbers, or false.
local function parse_ipv6(ip)
  if type(ip) ~= "string" then return false end
  if byte(ip, 1) == 91 and byte(ip, -1) == 93 then   -- [ ... ]
    ip = sub(ip, 2, -2)
  end
  local g
  local s, e = find(ip, "::", 1, true)
  if s then
    if find(ip, "::", e, true) then return false end
    local head = groups(sub(ip, 1, s - 1), {}, false)
    local tail = head and groups(sub(ip, e + 1), {}, true)
    if not tail or #head + #tail > 7 then return false end
    g = head
    for _ = 1, 8 - #head - #tail do g[#g + 1] = 0 end
    for _, v in ipairs(tail) do g[#g + 1] = v end
  else
    g = groups(ip, {}, true)
    if not g or #g ~= 8 then return false end
  end
  return {
    g[1] * 65536 + g[2], g[3] * 65536 + g[4], g[5] * 65536 + g[6], g[7] * 65536 + g[8],
  }
end
_M.parse_ipv6 = parse_ipv6

--- "10.0.0.0/8" -> "10.0.0.0", 8; "1.2.3.4" -> "1.2.3.4"
local function split_ip(ip)
  local idx = find(ip, "/", 1, true)
  if not idx then return ip end
  return sub(ip, 1, idx - 1), tonumber(sub(ip, idx + 1))
end
_M.split_ip = split_ip

-- the 32-bit words of an IPv6 address significant under `mask`, the last one
-- shifted right to drop the host bits
local function ipv6_idxs(words, mask)
  local idxs = {}
  for i = 1, 4 do
    if mask <= 0 then break end
    local m = mask > 32 and 32 or mask
    idxs[i] = m == 32 and words[i] or rshift(words[i], 32 - m)
    mask = mask - 32
  end
  return idxs
end

local function desc(a, b) return a > b end

local function new(ips, with_value)
  if type(ips) ~= "table" then
    error("missing valid ip argument", 3)
  end
  local v4, v4_masks, v4_all = {}, {}, nil
  local v6, v6_mask_set, v6_values, v6_all = {}, {}, {}, nil

  for a, b in (with_value and pairs or ipairs)(ips) do
    local text, value = b, true
    if with_value then text, value = a, b end
    if type(text) ~= "string" then
      return nil, "invalid ip address: " .. tostring(text)
    end
    local addr, mask = split_ip(text)
    local has_mask = addr ~= text
    local inet = parse_ipv4(addr)
    if inet then
      if has_mask and not (mask and mask >= 0 and mask <= 32 and mask % 1 == 0) then
        return nil, "invalid ip address: " .. text
      end
      mask = mask or 32
      if mask == 32 then
        v4[inet] = value
      elseif mask == 0 then
        v4_all = value
      else
        local bucket = v4_masks[mask] or {}
        v4_masks[mask] = bucket
        bucket[rshift(inet, 32 - mask)] = value
      end
    else
      local words = parse_ipv6(addr)
      if not words then
        return nil, "invalid ip address: " .. addr
      end
      if has_mask and not (mask and mask >= 0 and mask <= 128 and mask % 1 == 0) then
        return nil, "invalid ip address: " .. text
      end
      mask = mask or 128
      if mask == 128 then
        v6[addr] = value
      end
      if mask == 0 then
        v6_all = value
      else
        -- a tree of the significant words; the leaf holds true or an index in v6_values
        local node = v6[mask] or {}
        v6[mask] = node
        local idxs = ipv6_idxs(words, mask)
        for i, w in ipairs(idxs) do
          if i == #idxs then
            if with_value then
              v6_values[#v6_values + 1] = value
              node[w] = #v6_values
            else
              node[w] = true
            end
          else
            node[w] = node[w] or {}
            node = node[w]
          end
        end
        v6_mask_set[mask] = true
      end
    end
  end

  local v4_mask_arr, v6_mask_arr = {}, {}
  for m in pairs(v4_masks) do v4_mask_arr[#v4_mask_arr + 1] = m end
  for m in pairs(v6_mask_set) do v6_mask_arr[#v6_mask_arr + 1] = m end
  sort(v4_mask_arr, desc)
  sort(v6_mask_arr, desc)

  return setmetatable({
    ipv4 = v4, ipv4_mask = v4_masks, ipv4_mask_arr = v4_mask_arr, ipv4_match_all_value = v4_all,
    ipv6 = v6, ipv6_mask_arr = v6_mask_arr, ipv6_values = v6_values, ipv6_match_all_value = v6_all,
  }, mt)
end

--- A matcher for an array of addresses and CIDRs; nil, err when one is invalid.
function _M.new(ips)
  return new(ips, false)
end

--- A matcher for a map {address or CIDR = value}; match returns the value.
function _M.new_with_value(ips)
  return new(ips, true)
end

local function match_ipv4(self, inet)
  local value = self.ipv4[inet]
  if value ~= nil then return value end
  if self.ipv4_match_all_value ~= nil then return self.ipv4_match_all_value end
  local masks = self.ipv4_mask
  for _, m in ipairs(self.ipv4_mask_arr) do
    value = masks[m][rshift(inet, 32 - m)]
    if value ~= nil then return value end
  end
  return false
end

local function match_ipv6(self, words)
  if self.ipv6_match_all_value ~= nil then return self.ipv6_match_all_value end
  local v6 = self.ipv6
  for _, m in ipairs(self.ipv6_mask_arr) do
    local node = v6[m]
    for _, w in ipairs(ipv6_idxs(words, m)) do
      node = node[w]
      if not node then break end
      if node == true then return true end
      if type(node) == "number" then return self.ipv6_values[node] end
    end
  end
  return false
end

--- The value of the first entry matching `ip` (true for `new`), or false;
--- false, err when `ip` is not an address.
function _M.match(self, ip)
  local inet = parse_ipv4(ip)
  if inet then return match_ipv4(self, inet) end
  local words = parse_ipv6(ip)
  if not words then
    return false, "invalid ip address, not ipv4 and ipv6"
  end
  local value = self.ipv6[ip]
  if value ~= nil then return value end
  return match_ipv6(self, words)
end

local function word(bin, i)
  local a, b, c, d = byte(bin, i, i + 3)
  return a * 16777216 + b * 65536 + c * 256 + d
end

--- Like match, for an address in binary form (4 or 16 bytes, as ngx.var.binary_remote_addr).
function _M.match_bin(self, bin)
  if type(bin) == "string" and #bin == 4 then
    return match_ipv4(self, word(bin, 1))
  end
  if type(bin) ~= "string" or #bin ~= 16 then
    return false, "invalid ip address, not ipv4 and ipv6"
  end
  return match_ipv6(self, { word(bin, 1), word(bin, 5), word(bin, 9), word(bin, 13) })
end

return _M

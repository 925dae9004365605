-- `kong.tools.ip`: IP address and hostname helpers (kong/tools/ip.lua): validity
-- checks for addresses and CIDRs, hostname classification, normalization of
-- IPv4/IPv6 addresses and names with optional ports, and formatting for URLs.
local _, H = ...
local type, ipairs, tonumber, tostring = type, ipairs, tonumber, tostring
local gsub, fmt, lower, find, rep = string.gsub, string.format, string.lower, string.find, string.rep

local ipmatcher = H.require("resty.ipmatcher")
local str = H.require("kong.tools.string")
local splitn, split_once = str.splitn, str.split_once
local parse_ipv4, parse_ipv6 = ipmatcher.parse_ipv4, ipmatcher.parse_ipv6

local _M = {}

local V4_PREFIXES, V6_PREFIXES = {}, {}
for i = 0, 32 do V4_PREFIXES[tostring(i)] = i end
for i = 0, 128 do V6_PREFIXES[tostring(i)] = i end

local function validate(input, f1, f2, prefixes)
  if type(input) ~= "string" then return false end
  if prefixes then
    local ip, prefix = split_once(input, "/")
    if not ip or not prefixes[prefix] then return false end
    input = ip
  end
  if f1(input) then return true end
  if f2 and f2(input) then return true end
  return false
end

function _M.is_valid_ipv4(ip) return validate(ip, parse_ipv4) end
function _M.is_valid_ipv6(ip) return validate(ip, parse_ipv6) end
function _M.is_valid_ip(ip) return validate(ip, parse_ipv4, parse_ipv6) end
function _M.is_valid_cidr_v4(cidr) return validate(cidr, parse_ipv4, nil, V4_PREFIXES) end
function _M.is_valid_cidr_v6(cidr) return validate(cidr, parse_ipv6, nil, V6_PREFIXES) end
function _M.is_valid_cidr(cidr) return validate(cidr, _M.is_valid_cidr_v4, _M.is_valid_cidr_v6) end
function _M.is_valid_ip_or_cidr_v4(s) return validate(s, parse_ipv4, _M.is_valid_cidr_v4) end
function _M.is_valid_ip_or_cidr_v6(s) return validate(s, parse_ipv6, _M.is_valid_cidr_v6) end
function _M.is_valid_ip_or_cidr(s) return validate(s, _M.is_valid_ip, _M.is_valid_cidr) end

--- "ipv4", "ipv6" or "name", decided by exclusion (not validation); a port may follow.
function _M.hostname_type(name)
  local remainder, colons = gsub(name, ":", "")
  if colons > 1 then return "ipv6" end
  if remainder:match("^[%d%.]+$") then return "ipv4" end
  return "name"
end

--- "001.002.003.004:80" -> "1.2.3.4", 80; nil, err when invalid.
function _M.normalize_ipv4(address)
  local a, b, c, d, port
  if find(address, ":", 1, true) then
    a, b, c, d, port = address:match("^(%d%d?%d?)%.(%d%d?%d?)%.(%d%d?%d?)%.(%d%d?%d?):(%d+)$")
  else
    a, b, c, d = address:match("^(%d%d?%d?)%.(%d%d?%d?)%.(%d%d?%d?)%.(%d%d?%d?)$")
  end
  if not a then return nil, "invalid ipv4 address: " .. address end
  a, b, c, d = tonumber(a), tonumber(b), tonumber(c), tonumber(d)
  if a > 255 or b > 255 or c > 255 or d > 255 then
    return nil, "invalid ipv4 address: " .. address
  end
  if port then
    port = tonumber(port)
    if port > 65535 then return nil, "invalid port number" end
  end
  return fmt("%d.%d.%d.%d", a, b, c, d), port
end

--- "[::1]:80" -> "0000:0000:0000:0000:0000:0000:0000:0001", 80 (fully expanded,
--- lowercase, no brackets); nil, err when invalid.
function _M.normalize_ipv6(address)
  local check, port = address:match("^(%b[])(.-)$")
  if port == "" then port = nil end
  if check then
    check = check:sub(2, -2)
    if port then
      port = port:match("^:(%d-)$")
      if not port then return nil, "invalid ipv6 address" end
      port = tonumber(port)
      if port > 65535 then return nil, "invalid port number" end
    end
  else
    check, port = address, nil
  end
  if check:sub(1, 1) == ":" then check = "0" .. check end
  if check:sub(-1, -1) == ":" then check = check .. "0" end
  if find(check, "::", 1, true) then
    local _, count = gsub(check, ":", "")
    check = gsub(check, "::", ":" .. rep("0:", 8 - count), 1)
  end
  local p = "(%x%x?%x?%x?)"
  local g = { check:match("^" .. p .. ":" .. p .. ":" .. p .. ":" .. p .. ":" .. p .. ":" .. p .. ":"
                          .. p .. ":" .. p .. "$") }
  if not g[1] then return nil, "invalid ipv6 address: " .. address end
  for i = 1, 8 do g[i] = rep("0", 4 - #g[i]) .. g[i] end
  return lower(fmt("%s:%s:%s:%s:%s:%s:%s:%s", g[1], g[2], g[3], g[4], g[5], g[6], g[7], g[8])), port
end

--- "example.com:80" -> "example.com", 80; nil, err for a malformed name.
function _M.check_hostname(address)
  local name = address
  local port = address:match(":(%d+)$")
  if port then
    name = name:sub(1, -(#port + 2))
    port = tonumber(port)
    if port > 65535 then return nil, "invalid port number" end
  end
  if not name:match("^[%d%a%-%.%_]+$") then
    return nil, "invalid hostname: " .. address
  end
  local t, count = splitn(name, ".")
  for index, segment in ipairs(t) do
    if segment:match("-$") or (segment == "" and index ~= count) then
      return nil, "invalid hostname: " .. address
    end
  end
  return name, port
end

local VERIFY = {
  ipv4 = _M.normalize_ipv4,
  ipv6 = _M.normalize_ipv6,
  name = _M.check_hostname,
}

--- {type = "ipv4"|"ipv6"|"name", host = normalized address or name, port = number|nil},
--- or nil, err.
function _M.normalize_ip(address)
  local atype = _M.hostname_type(address)
  local addr, port = VERIFY[atype](address)
  if not addr then return nil, port end
  return { type = atype, host = addr, port = port }
end

--- An address for a URL: "[::1]:80", "1.2.3.4:8000", "name"; accepts a string
--- (plus port), a table from normalize_ip, or nil, err (passed through).
function _M.format_host(p1, p2)
  local t = type(p1)
  if t == "nil" then return p1, p2 end
  local host, port, typ
  if t == "table" then
    port = p1.port or p2
    host = p1.host
    typ = p1.type or _M.hostname_type(host)
  elseif t == "string" then
    port = p2
    host = p1
    typ = _M.hostname_type(host)
  else
    return nil, "cannot format type '" .. t .. "'"
  end
  local suffix = port and ":" .. port or ""
  if typ == "ipv6" and not find(host, "[", 1, true) then
    return "[" .. _M.normalize_ipv6(host) .. "]" .. suffix
  end
  return host .. suffix
end

return _M

-- ip-restriction (PRIORITY 990): refuses clients by IP address, as Kong 3.x does.
--
-- The address is kong.client.get_forwarded_ip(): the client after the core's real-IP
-- handling (`trusted_ips`, `real_ip_header`, `real_ip_recursive`), what Kong reads
-- from ngx.var.remote_addr.  A client in `deny`, or not in a non-empty `allow`, gets
-- kong.response.error(status or 403, message or "IP address not allowed: <ip>").
-- `deny` is checked first.
--
-- Matching is compiled once per configuration: each list becomes a resty.ipmatcher
-- (IPv4 addresses in a hash, CIDR ranges as masked prefixes, IPv6 alike), kept in a
-- table weakly keyed by the config, so a request costs one IP parse and a few table
-- lookups in Lua whatever the length of the lists.
local ipmatcher = require "resty.ipmatcher"
local kong_meta = require "kong.meta"

local kong = kong
local error, setmetatable = error, setmetatable
local fmt = string.format

local IpRestrictionHandler = {
  PRIORITY = 990,
  VERSION = kong_meta.version,
}

local matchers = setmetatable({}, { __mode = "k" })   -- conf -> { deny, allow }

local function compile(list)
  if list == nil or list[1] == nil then
    return false
  end
  local matcher, err = ipmatcher.new(list)
  if not matcher then
    return error("failed to create a new ipmatcher instance: " .. err)
  end
  return matcher
end

local function matchers_of(conf)
  local m = matchers[conf]
  if m == nil then
    m = { deny = compile(conf.deny), allow = compile(conf.allow) }
    matchers[conf] = m
  end
  return m
end

local function refuse(conf, ip)
  local message = conf.message or fmt("IP address not allowed: %s", ip)
  kong.log.warn(message)
  return kong.response.error(conf.status or 403, message)
end

local function matches(matcher, ip)
  local found, err = matcher:match(ip)
  if err then
    return error("invalid ip address: " .. err)
  end
  return found
end

function IpRestrictionHandler:access(conf)
  local ip = kong.client.get_forwarded_ip()
  if not ip or ip == "" then
    return refuse({ status = 403,
                    message = "Cannot identify the client IP address, unix domain sockets are not supported." })
  end
  local m = matchers_of(conf)
  if m.deny and matches(m.deny, ip) then
    return refuse(conf, ip)
  end
  if m.allow and not matches(m.allow, ip) then
    return refuse(conf, ip)
  end
end

return IpRestrictionHandler

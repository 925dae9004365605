-- A plugin in the `<dir>/<name>/handler.lua` layout using Kong's helper modules:
-- kong.constants, kong.meta, kong.tools.*, resty.lrucache and resty.ipmatcher.
--   access: deny addresses matching conf.deny (the client's, or X-Test-IP), count
--           requests per X-User in a 2-entry LRU cache, and pass derived headers on;
--   header_filter: a request id, Kong's server token, and the cache TTL computed
--           from an Expires header copied from X-Expires.
local constants = require "kong.constants"
local meta = require "kong.meta"
local lrucache = require "resty.lrucache"
local ipmatcher = require "resty.ipmatcher"
local kstring = require "kong.tools.string"
local ktable = require "kong.tools.table"
local uuid = require "kong.tools.uuid"
local sha256 = require "kong.tools.sha256"
local http = require "kong.tools.http"
local ip = require "kong.tools.ip"

local HEADERS = constants.HEADERS

local ToolsDemo = {
  PRIORITY = 800,
  VERSION = meta.version,
}

local seen = assert(lrucache.new(2))         -- user -> requests seen (per worker)
local matchers = setmetatable({}, { __mode = "k" })   -- conf -> ipmatcher

local function matcher_for(conf)
  local m = matchers[conf]
  if not m then
    m = assert(ipmatcher.new(conf.deny))
    matchers[conf] = m
  end
  return m
end

function ToolsDemo:access(conf)
  local addr = kong.request.get_header("x-test-ip") or kong.client.get_ip()
  if not ip.is_valid_ip(addr) then
    return kong.response.exit(400, { message = "not an address: " .. addr })
  end
  if matcher_for(conf):match(addr) then
    return kong.response.exit(403, { message = "address denied" })
  end

  local user = kstring.strip(kong.request.get_header("x-user"))
  if user ~= "" then
    local count = (seen:get(user) or 0) + 1
    seen:set(user, count)
    kong.service.request.set_header(HEADERS.CONSUMER_USERNAME, user)
    kong.service.request.set_header("X-Seen-Count", count)
  end

  local tags = {}
  for tag in kstring.isplitn(kong.request.get_header("x-tags") or "", ",") do
    tag = kstring.strip(tag)
    if tag ~= "" and not ktable.table_contains(tags, tag) then
      tags[#tags + 1] = tag
    end
  end
  kong.service.request.set_header("X-Tags", table.concat(tags, "|"))
  kong.service.request.set_header("X-Path-Sha256", sha256.sha256_hex(kong.request.get_path()))
  kong.service.request.set_header("X-Https", tostring(http.check_https(true, true)))
end

function ToolsDemo:header_filter(conf)
  kong.response.set_header(HEADERS.REQUEST_ID .. "-Demo", uuid.uuid())
  kong.response.set_header(HEADERS.SERVER .. "-Tokens", meta._SERVER_TOKENS)
  local expires = kong.request.get_header("x-expires")
  if expires then
    kong.response.set_header("Expires", expires)
    kong.response.set_header("X-TTL", http.calculate_resource_ttl(nil))
  end
end

return ToolsDemo

-- bot-detection (PRIORITY 2500): refuses requests whose User-Agent is a known bad bot
-- or matches a `deny` regex, as Kong 3.x does: 403 "Forbidden".  An `allow` match
-- wins over both; two User-Agent headers: 400 "Only one User-Agent header allowed";
-- no User-Agent: let through.
--
-- The verdict is cached per config and User-Agent value (resty.lrucache, 10 000
-- entries, per worker; the caches are weakly keyed by the config), so a regular
-- client costs one header read and one Lua table lookup.  The built-in list
-- (rules.lua) is joined into one regex, so a new User-Agent costs one match for it.
local rules = require "kong.plugins.bot-detection.rules"
local strip = require("kong.tools.string").strip
local lrucache = require "resty.lrucache"
local kong_meta = require "kong.meta"

local kong = kong
local type, ipairs, setmetatable = type, ipairs, setmetatable
local concat = table.concat
local re_find = ngx.re.find

local BotDetectionHandler = {
  PRIORITY = 2500,
  VERSION = kong_meta.version,
}

local MATCH_NONE, MATCH_ALLOW, MATCH_DENY, MATCH_BOT = 0, 1, 2, 3
local CACHE_SIZE = 10000

local BOTS
do
  local parts = {}
  for i, rule in ipairs(rules.bots) do
    parts[i] = "(?:" .. rule .. ")"
  end
  BOTS = concat(parts, "|")
end

local caches = setmetatable({}, { __mode = "k" })   -- conf -> lrucache of verdicts

local function any_match(user_agent, list)
  if list then
    for _, rule in ipairs(list) do
      if re_find(user_agent, rule, "jo") then
        return true
      end
    end
  end
  return false
end

local function examine(user_agent, conf)
  user_agent = strip(user_agent)
  if any_match(user_agent, conf.allow) then
    return MATCH_ALLOW
  end
  if any_match(user_agent, conf.deny) then
    return MATCH_DENY
  end
  if re_find(user_agent, BOTS, "jo") then
    return MATCH_BOT
  end
  return MATCH_NONE
end

function BotDetectionHandler:access(conf)
  local user_agent = kong.request.get_headers()["user-agent"]
  if type(user_agent) == "table" then
    return kong.response.error(400, "Only one User-Agent header allowed")
  end
  if not user_agent then
    return
  end
  local cache = caches[conf]
  if cache == nil then
    cache = lrucache.new(CACHE_SIZE)
    caches[conf] = cache
  end
  local verdict = cache:get(user_agent)
  if verdict == nil then
    verdict = examine(user_agent, conf)
    cache:set(user_agent, verdict)
  end
  if verdict >= MATCH_DENY then
    return kong.response.error(403)
  end
end

return BotDetectionHandler

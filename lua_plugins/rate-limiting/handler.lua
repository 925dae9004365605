-- rate-limiting (Kong 3.x, PRIORITY 910): limits how many requests a client makes per
-- second, minute, hour, day, month and year.  The client is who `limit_by` says (falling
-- back to the client IP as Kong does); counters live in this worker (`policy: local`) or
-- in Redis (`policy: redis`, one round trip per request).  Headers: RateLimit-Limit,
-- RateLimit-Remaining, RateLimit-Reset for the most constrained window, and
-- X-RateLimit-Limit-<Period> / X-RateLimit-Remaining-<Period> for each one; an exhausted
-- window answers `error_code` (429) `{"message":"API rate limit exceeded"}` with
-- Retry-After.  See policies.lua for the counting and doc.md for the extensions.
local kong_meta = require "kong.meta"
local timestamp = require "kong.tools.timestamp"
local policies = require "kong.plugins.rate-limiting.policies"
local pdk_rl = require "kong.pdk.private.rate_limiting"

local kong = kong
local ngx = ngx
local max = math.max
local floor = math.floor
local tostring = tostring
local store_header = pdk_rl.store_response_header
local apply_headers = pdk_rl.apply_response_headers

local EXPIRATION = policies.EXPIRATION
local PERIODS = { "second", "minute", "hour", "day", "month", "year" }

local X_LIMIT, X_REMAINING = {}, {}
for _, p in ipairs(PERIODS) do
  local title = p:sub(1, 1):upper() .. p:sub(2)
  X_LIMIT[p] = "X-RateLimit-Limit-" .. title
  X_REMAINING[p] = "X-RateLimit-Remaining-" .. title
end

local EMPTY = {}

local RateLimitingHandler = {
  VERSION = kong_meta.version,
  PRIORITY = 910,
}

-- the configured windows, shortest first, computed once per configuration
local periods_of = setmetatable({}, { __mode = "k" })

local function configured_periods(conf)
  local list = periods_of[conf]
  if not list then
    list = {}
    for _, p in ipairs(PERIODS) do
      local limit = conf[p]
      if type(limit) == "number" then
        list[#list + 1] = { name = p, limit = limit }
      end
    end
    periods_of[conf] = list
  end
  return list
end

local function get_identifier(conf)
  local by = conf.limit_by
  local identifier
  if by == "service" then
    identifier = (kong.router.get_service() or EMPTY).id
  elseif by == "consumer" then
    identifier = (kong.client.get_consumer() or kong.client.get_credential() or EMPTY).id
  elseif by == "credential" then
    identifier = (kong.client.get_credential() or EMPTY).id
  elseif by == "header" then
    identifier = kong.request.get_header(conf.header_name)
  elseif by == "path" then
    local path = kong.request.get_path()
    if path == conf.path then
      identifier = path
    end
  end
  return identifier or kong.client.get_forwarded_ip()
end

function RateLimitingHandler:access(conf)
  local now_ms = floor(ngx.now() * 1000)
  local periods = configured_periods(conf)
  local identifier = get_identifier(conf)

  local used, blocked = policies[conf.policy].check(conf, identifier, periods, now_ms)
  if not used then
    if not conf.fault_tolerant then
      return error(blocked)
    end
    kong.log.err("failed to get usage: ", tostring(blocked))
    return
  end

  local ngx_ctx = ngx.ctx
  local reset
  if not conf.hide_client_headers then
    local stamps = timestamp.get_timestamps(now_ms)
    local limit, window, remaining
    for i = 1, #periods do
      local p = periods[i]
      local name = p.name
      local left = p.limit - used[i]
      -- this request counts in every window unless it is refused; when it is refused
      -- the exhausted windows show 0 and the others what was left before it
      if not blocked or left <= 0 then
        left = left - 1
      end
      left = max(0, floor(left))
      local length = EXPIRATION[name]
      if not limit or left < remaining or (left == remaining and length > window) then
        limit, window, remaining = p.limit, length, left
        reset = max(1, length - floor((now_ms - stamps[name]) / 1000))
      end
      store_header(ngx_ctx, X_LIMIT[name], p.limit)
      store_header(ngx_ctx, X_REMAINING[name], left)
    end
    store_header(ngx_ctx, "RateLimit-Limit", limit)
    store_header(ngx_ctx, "RateLimit-Remaining", remaining)
    store_header(ngx_ctx, "RateLimit-Reset", reset)
  end

  if blocked then
    if not conf.hide_client_headers then
      store_header(ngx_ctx, "Retry-After", reset)
      apply_headers(ngx_ctx)
    end
    return kong.response.error(conf.error_code, conf.error_message)
  end

  if not conf.hide_client_headers then
    apply_headers(ngx_ctx)
  end
end

return RateLimitingHandler

-- rate-limiting's schema: Kong 3.x's fields, defaults and messages (DB-less: the
-- `local` and `redis` policies), the deprecated flat `redis_*` shorthands, and our
-- extension `strategy` (`fixed_window`, Kong's behaviour and the default, or
-- `sliding_window`).
local typedefs = require "kong.db.schema.typedefs"
local redis_schema = require "kong.tools.redis.schema"

local SYNC_RATE_REALTIME = -1
local PERIODS = { "second", "minute", "hour", "day", "month", "year" }

-- a longer period may not allow fewer requests than a shorter one
local function check_config(config)
  for i, shorter in ipairs(PERIODS) do
    local low = config[shorter]
    if type(low) == "number" then
      for j = i + 1, #PERIODS do
        local longer = PERIODS[j]
        local high = config[longer]
        if type(high) == "number" and high < low then
          return nil, string.format("The limit for %s(%.1f) cannot be lower than the limit for %s(%.1f)",
            longer, high, shorter, low)
        end
      end
    end
  end
  if config.policy ~= "redis" and config.sync_rate ~= SYNC_RATE_REALTIME then
    return nil, "sync_rate can only be used with the redis policy"
  end
  if config.policy == "redis" and config.sync_rate ~= SYNC_RATE_REALTIME and config.sync_rate < 0.02 then
    return nil, "sync_rate must be greater than 0.02, or -1 to disable"
  end
  return true
end

local function limit_field(period)
  return { description = "The number of HTTP requests that can be made per " .. period .. ".",
           type = "number", gt = 0 }
end

-- config.redis_<name> (deprecated in Kong 3.x) -> config.redis.<name>
local function redis_shorthand(name, typ)
  return { ["redis_" .. name] = {
    type = typ,
    len_min = typ == "string" and name == "password" and 0 or nil,
    deprecation = {
      replaced_with = { { path = { "redis", name } } },
      message = "rate-limiting: config.redis_" .. name .. " is deprecated, please use config.redis."
        .. name .. " instead",
      removal_in_version = "4.0",
    },
    func = function(value) return { redis = { [name] = value } } end,
  } }
end

return {
  name = "rate-limiting",
  fields = {
    { protocols = typedefs.protocols_http },
    { config = {
        type = "record",
        fields = {
          { second = limit_field("second") },
          { minute = limit_field("minute") },
          { hour = limit_field("hour") },
          { day = limit_field("day") },
          { month = limit_field("month") },
          { year = limit_field("year") },
          { limit_by = { description = "The entity that is used when aggregating the limits.",
              type = "string", default = "consumer",
              one_of = { "consumer", "credential", "ip", "service", "header", "path" } } },
          { header_name = typedefs.header_name },
          { path = typedefs.path },
          { policy = { description = "The rate-limiting policies to use for retrieving and incrementing the limits.",
              type = "string", default = "local", len_min = 0, one_of = { "local", "redis" } } },
          { fault_tolerant = { description = "Proxy requests even when the data store cannot be reached"
              .. " (the limits are then not applied); when false the client gets a 500.",
              type = "boolean", required = true, default = true } },
          { redis = redis_schema.config_schema },
          { hide_client_headers = { description = "Optionally hide informative response headers.",
              type = "boolean", required = true, default = false } },
          { error_code = { description = "Set a custom error code to return when the rate limit is exceeded.",
              type = "number", default = 429, gt = 0 } },
          { error_message = { description = "Set a custom error message to return when the rate limit is exceeded.",
              type = "string", default = "API rate limit exceeded" } },
          { sync_rate = { description = "How often to sync counter data to the central data store. Moongate"
              .. " always counts synchronously (-1); a positive value is accepted and treated as -1.",
              type = "number", required = true, default = -1 } },
          { strategy = { description = "Moongate extension: `fixed_window` (Kong's calendar windows) or"
              .. " `sliding_window` (the previous window's count weighted by its remaining overlap, so"
              .. " bursts at a window edge cannot double the limit).",
              type = "string", required = true, default = "fixed_window",
              one_of = { "fixed_window", "sliding_window" } } },
        },
        custom_validator = check_config,
        shorthand_fields = {
          redis_shorthand("host", "string"),
          redis_shorthand("port", "integer"),
          redis_shorthand("password", "string"),
          redis_shorthand("username", "string"),
          redis_shorthand("ssl", "boolean"),
          redis_shorthand("ssl_verify", "boolean"),
          redis_shorthand("server_name", "string"),
          redis_shorthand("timeout", "integer"),
          redis_shorthand("database", "integer"),
        },
      },
    },
  },
  entity_checks = {
    { at_least_one_of = { "config.second", "config.minute", "config.hour", "config.day",
                          "config.month", "config.year" } },
    { conditional = { if_field = "config.policy", if_match = { eq = "redis" },
                      then_field = "config.redis.host", then_match = { required = true } } },
    { conditional = { if_field = "config.policy", if_match = { eq = "redis" },
                      then_field = "config.redis.port", then_match = { required = true } } },
    { conditional = { if_field = "config.policy", if_match = { eq = "redis" },
                      then_field = "config.redis.timeout", then_match = { required = true } } },
    { conditional = { if_field = "config.limit_by", if_match = { eq = "header" },
                      then_field = "config.header_name", then_match = { required = true } } },
    { conditional = { if_field = "config.limit_by", if_match = { eq = "path" },
                      then_field = "config.path", then_match = { required = true } } },
  },
}

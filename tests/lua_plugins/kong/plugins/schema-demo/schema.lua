-- A Kong-style plugin schema exercising the schema DSL end to end: typedefs (plain and
-- called with overrides), every field type, the single-field validators, Lua custom
-- validators, entity checks at record and entity level, shorthand fields, nested
-- records and arrays of records, and a shared record from kong.tools.redis.schema.
local typedefs = require "kong.db.schema.typedefs"
local Schema = require "kong.db.schema"
local redis_schema = require "kong.tools.redis.schema"

local is_regex = Schema.validators.is_regex
local null = ngx.null

local function asterisk_or_regex(value)
  if value == "*" or is_regex(value) then
    return true
  end
  return nil, string.format("'%s' is not a valid regex", tostring(value))
end

local function even(value)
  if value % 2 == 0 then
    return true
  end
  return false, "must be an even number"
end

-- record-level validator: sees the whole config, unset fields as ngx.null
local function limits_in_order(config)
  local minute, hour = config.minute, config.hour
  if minute ~= null and hour ~= null and hour < minute then
    return nil, string.format("the limit per hour (%d) cannot be lower than the limit per minute (%d)",
                              hour, minute)
  end
  return true
end

local upstream = {
  type = "record",
  fields = {
    { host = typedefs.host { required = true } },
    { port = typedefs.port { default = 80 } },
    { weight = { type = "integer", default = 100, between = { 0, 1000 } } },
  },
}

return {
  name = "schema-demo",
  fields = {
    { consumer = typedefs.no_consumer },
    { protocols = typedefs.protocols_http },
    { config = {
        type = "record",
        fields = {
          { echo_header = typedefs.header_name { default = "X-Demo-Mode" } },
          { mode = { type = "string", required = true, default = "fast", one_of = { "fast", "safe" } } },
          { minute = { type = "number", gt = 0 } },
          { hour = { type = "number", gt = 0 } },
          { ratio = { type = "number", default = 0.5, between = { 0, 1 } } },
          { retries = { type = "integer", default = 3, between = { 0, 10 } } },
          { token = { type = "string", len_min = 4, len_max = 16, match = "^%w+$" } },
          { prefix = { type = "string", default = "/api", starts_with = "/api" } },
          { label = { type = "string",
                      match_none = { { pattern = "%s", err = "must not contain whitespace" } } } },
          { request_id = { type = "string", uuid = true } },
          { batch = { type = "integer", default = 2, custom_validator = even } },
          { verbose = { type = "boolean", required = true, default = false } },
          { methods = { type = "set", elements = typedefs.http_method, default = { "GET", "HEAD" } } },
          { origins = { type = "array", default = {},
                        elements = { type = "string", custom_validator = asterisk_or_regex } } },
          { extra_headers = { type = "map", keys = typedefs.header_name, values = { type = "string" } } },
          { upstream_url = typedefs.url },
          { upstreams = { type = "array", elements = upstream } },
          { allow = { type = "array", elements = typedefs.ip_or_cidr } },
          { deny = { type = "array", elements = typedefs.ip_or_cidr } },
          { primary_header = typedefs.header_name },
          { secondary_header = typedefs.header_name },
          { timeout = typedefs.timeout { default = 60000 } },
          { cache = { type = "record", fields = {
              { strategy = { type = "string", required = true, default = "memory",
                             one_of = { "memory", "redis" } } },
              { ttl = typedefs.ttl { default = 300 } },
              { redis = redis_schema.config_schema },
          } } },
          { code = typedefs.lua_code },
        },
        entity_checks = {
          { at_least_one_of = { "minute", "hour" } },
          { only_one_of = { "upstream_url", "upstreams" } },
          { mutually_exclusive = { "allow", "deny" } },
          { distinct = { "primary_header", "secondary_header" } },
          { conditional = { if_field = "mode", if_match = { eq = "safe" },
                            then_field = "retries", then_match = { between = { 1, 5 } } } },
          { custom_entity_check = {
              field_sources = { "cache.strategy", "cache.redis" },
              fn = function(entity)
                local cache = entity.cache
                if cache.strategy == "redis" and cache.redis.host == null then
                  return nil, "the redis strategy needs cache.redis.host"
                end
                return true
              end,
          } },
        },
        custom_validator = limits_in_order,
        shorthand_fields = {
          { redis_host = {
              type = "string",
              func = function(value)
                return { cache = { strategy = "redis", redis = { host = value } } }
              end,
          } },
        },
    } },
  },
  entity_checks = {
    { conditional = { if_field = "config.mode", if_match = { eq = "safe" },
                      then_field = "config.token", then_match = { required = true } } },
    { custom_entity_check = {
        field_sources = { "config.mode", "protocols" },
        fn = function(entity)
          if entity.config.mode ~= "safe" then
            return true
          end
          for _, protocol in ipairs(entity.protocols) do
            if protocol == "http" then
              return nil, "safe mode requires https only"
            end
          end
          return true
        end,
    } },
  },
}

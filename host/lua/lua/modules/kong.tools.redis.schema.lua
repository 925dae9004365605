-- kong.tools.redis.schema: the `redis` connection record shared by plugin schemas
-- (rate-limiting, response-ratelimiting, acme): `{ redis = redis_schema.config_schema }`.
-- Same fields, types and defaults as Kong's; built from the shared typedefs.
local _, H = ...

local typedefs = H.require("kong.db.schema.typedefs")

local config_schema = {
  type = "record",
  description = "How to connect to Redis.",
  fields = {
    { host = typedefs.host },
    { port = typedefs.port { default = 6379 } },
    { timeout = typedefs.timeout { default = 2000 } },
    { username = {
        type = "string",
        referenceable = true,
        description = "The Redis ACL user name (Redis 6+); without it no ACL authentication is done.",
    } },
    { password = {
        type = "string",
        encrypted = true,
        referenceable = true,
        len_min = 0,
        description = "The password sent with AUTH; without it no AUTH command is sent.",
    } },
    { database = {
        type = "integer",
        default = 0,
        description = "The Redis database number.",
    } },
    { ssl = {
        type = "boolean",
        required = false,
        default = false,
        description = "Connect to Redis over TLS.",
    } },
    { ssl_verify = {
        type = "boolean",
        required = false,
        default = false,
        description = "Verify the Redis server's TLS certificate.",
    } },
    { server_name = typedefs.sni { required = false } },
  },
}

return { config_schema = config_schema }

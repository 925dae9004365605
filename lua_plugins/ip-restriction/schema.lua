-- ip-restriction's configuration (Kong 3.x): `allow` / `deny` lists of IPv4/IPv6
-- addresses and CIDR ranges (at least one of them), and the status and message of
-- the answer to a refused client.
local typedefs = require "kong.db.schema.typedefs"

return {
  name = "ip-restriction",
  fields = {
    { protocols = typedefs.protocols { default = { "http", "https", "tcp", "tls", "grpc", "grpcs" } } },
    { config = {
        type = "record",
        fields = {
          { allow = {
              description = "IP addresses or CIDR ranges allowed (one of `allow` or `deny` is required).",
              type = "array", elements = typedefs.ip_or_cidr } },
          { deny = {
              description = "IP addresses or CIDR ranges refused (one of `allow` or `deny` is required).",
              type = "array", elements = typedefs.ip_or_cidr } },
          { status = {
              description = "The HTTP status of the answer to a refused client (default 403).",
              type = "number", required = false } },
          { message = {
              description = "The message of the answer to a refused client "
                .. "(default: \"IP address not allowed: <client ip>\").",
              type = "string", required = false } },
        },
    } },
  },
  entity_checks = {
    { at_least_one_of = { "config.allow", "config.deny" } },
  },
}

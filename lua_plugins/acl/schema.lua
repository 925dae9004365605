-- acl's configuration (Kong 3.x): exactly one of `allow` / `deny` (lists of group
-- names), whether the groups header reaches the upstream, and whether groups other
-- auth plugins put in kong.ctx.shared.authenticated_groups win over the consumer's.
local typedefs = require "kong.db.schema.typedefs"

return {
  name = "acl",
  fields = {
    { consumer = typedefs.no_consumer },
    { protocols = typedefs.protocols_http },
    { config = {
        type = "record",
        fields = {
          { allow = {
              description = "Groups allowed to use the service or route (one of `allow` or `deny` is required).",
              type = "array", elements = { type = "string" } } },
          { deny = {
              description = "Groups refused the service or route (one of `allow` or `deny` is required).",
              type = "array", elements = { type = "string" } } },
          { hide_groups_header = {
              description = "Do not send the X-Consumer-Groups (X-Authenticated-Groups) header upstream.",
              type = "boolean", required = true, default = false } },
          { always_use_authenticated_groups = {
              description = "Use kong.ctx.shared.authenticated_groups even when a consumer was "
                .. "authenticated (default: only without a consumer or for the anonymous one); "
                .. "falls back to the consumer's groups when there are none.",
              type = "boolean", required = true, default = false } },
        },
    } },
  },
  entity_checks = {
    { only_one_of = { "config.allow", "config.deny" } },
    { at_least_one_of = { "config.allow", "config.deny" } },
  },
}

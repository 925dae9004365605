-- remote-auth-lua's configuration: where the auth service is, and how long to try.
local typedefs = require "kong.db.schema.typedefs"

-- the worst case (every attempt timing out, with the pauses between) must stay short
local function bounded(config)
  local worst = (config.retries + 1) * config.timeout + config.retries * config.retry_delay
  if worst > 10000 then
    return nil, "retries, timeout and retry_delay allow " .. worst .. " ms; at most 10000"
  end
  return true
end

return {
  name = "remote-auth-lua",
  fields = {
    { consumer = typedefs.no_consumer },
    { config = {
        type = "record",
        fields = {
          { url = typedefs.url { required = true } },
          { timeout = typedefs.timeout { required = true, default = 2000 } },
          { retries = { type = "integer", required = true, default = 1, between = { 0, 5 } } },
          { retry_delay = { type = "integer", required = true, default = 100,
                            between = { 0, 5000 }, description = "Pause before a retry, in ms." } },
        },
        entity_checks = {
          { custom_entity_check = {
              field_sources = { "timeout", "retries", "retry_delay" },
              fn = bounded } },
        },
    } },
  },
}

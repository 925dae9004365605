-- request-termination's schema (Kong 3.x): status_code, message, content_type, body,
-- echo, trigger, with Kong's checks on which of them go together.
local typedefs = require "kong.db.schema.typedefs"

local function present(v)
  return type(v) == "string" and #v > 0
end

local function check(config)
  if present(config.message) and (present(config.content_type) or present(config.body)) then
    return nil, "message cannot be used with content_type or body"
  end
  if present(config.content_type) and not present(config.body) then
    return nil, "content_type requires a body"
  end
  if config.echo and (present(config.content_type) or present(config.body)) then
    return nil, "echo cannot be used with content_type and body"
  end
  return true
end

return {
  name = "request-termination",
  fields = {
    { protocols = typedefs.protocols_http },
    { config = {
        type = "record",
        fields = {
          { status_code = { description = "The response code to send. Must be an integer between 100 and 599.",
              type = "integer", required = true, default = 503, between = { 100, 599 } } },
          { message = { description = "The message to send, if using the default response generator.",
              type = "string" } },
          { content_type = { description = "Content type of the raw response configured with `config.body`.",
              type = "string" } },
          { body = { description = "The raw response body to send. This is mutually exclusive with the"
              .. " `config.message` field.", type = "string" } },
          { echo = { description = "Echo a copy of the request back to the client (for debugging; combine"
              .. " with `trigger` to debug live traffic).", type = "boolean", required = true, default = false } },
          { trigger = typedefs.header_name },
        },
        custom_validator = check,
      },
    },
  },
}

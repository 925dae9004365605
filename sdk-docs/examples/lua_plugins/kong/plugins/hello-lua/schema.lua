-- hello-lua's configuration, in Kong's schema DSL.
local typedefs = require "kong.db.schema.typedefs"

-- a header value must be printable ASCII: refuse the greeting at config load
local function printable(greeting)
  if greeting:find("[^\32-\126]") then
    return nil, "the greeting must be printable ASCII"
  end
  return true
end

return {
  name = "hello-lua",
  fields = {
    { protocols = typedefs.protocols_http },
    { config = {
        type = "record",
        fields = {
          { greeting = {
              type = "string",
              required = true,
              default = "hello",
              len_min = 1,
              custom_validator = printable,
              description = "What the upstream is told." } },
          { request_header = typedefs.header_name {
              required = true,
              default = "X-Greeting",
              description = "Request header carrying the greeting upstream." } },
          { response_header = typedefs.header_name {
              required = true,
              default = "X-Greeted",
              description = "Response header telling the client the greeting." } },
        },
        entity_checks = {
          { distinct = { "request_header", "response_header" } },
        },
    } },
  },
}

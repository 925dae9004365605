-- cors' configuration (Kong 3.x): allowed origins (exact values, `*` or PCRE
-- regexes), the Access-Control-* values of preflight answers, and whether preflight
-- requests go to the upstream instead.
local typedefs = require "kong.db.schema.typedefs"
local is_regex = require("kong.db.schema").validators.is_regex

local METHODS = { "GET", "HEAD", "PUT", "PATCH", "POST", "DELETE", "OPTIONS", "TRACE", "CONNECT" }

local function asterisk_or_regex(value)
  if value == "*" or is_regex(value) then
    return true
  end
  return nil, string.format("'%s' is not a valid regex", tostring(value))
end

return {
  name = "cors",
  fields = {
    { consumer = typedefs.no_consumer },
    { protocols = typedefs.protocols_http },
    { config = {
        type = "record",
        fields = {
          { origins = {
              description = "Allowed origins for Access-Control-Allow-Origin: exact values, `*` "
                .. "or PCRE regexes; empty: every origin is allowed.",
              type = "array", elements = { type = "string", custom_validator = asterisk_or_regex } } },
          { headers = {
              description = "Value of Access-Control-Allow-Headers (default: the request's "
                .. "Access-Control-Request-Headers).",
              type = "array", elements = { type = "string" } } },
          { exposed_headers = {
              description = "Value of Access-Control-Expose-Headers on actual requests.",
              type = "array", elements = { type = "string" } } },
          { methods = {
              description = "Value of Access-Control-Allow-Methods.",
              type = "array", default = METHODS, elements = { type = "string", one_of = METHODS } } },
          { max_age = {
              description = "Value of Access-Control-Max-Age: seconds a preflight answer may be cached.",
              type = "number" } },
          { credentials = {
              description = "Send Access-Control-Allow-Credentials: true.",
              type = "boolean", required = true, default = false } },
          { private_network = {
              description = "Answer Access-Control-Request-Private-Network: true with "
                .. "Access-Control-Allow-Private-Network: true.",
              type = "boolean", required = true, default = false } },
          { preflight_continue = {
              description = "Proxy preflight requests to the upstream instead of answering them.",
              type = "boolean", required = true, default = false } },
          { allow_origin_absent = {
              description = "Add the CORS headers to responses of requests without an Origin header.",
              type = "boolean", required = true, default = true } },
        },
    } },
  },
}

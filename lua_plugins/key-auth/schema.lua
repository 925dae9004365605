-- key-auth's configuration (Kong 3.x field names, defaults and validations): where
-- the API key is looked for (header, query string, body, under each of `key_names`),
-- whether it is hidden from the upstream, the anonymous consumer of the "logical OR"
-- pattern, preflight handling and the realm of the WWW-Authenticate challenge.
local typedefs = require "kong.db.schema.typedefs"

return {
  name = "key-auth",
  fields = {
    { consumer = typedefs.no_consumer },
    { protocols = typedefs.protocols_http },
    { config = {
        type = "record",
        fields = {
          { key_names = {
              description = "Names of the headers, query parameters or body fields holding the API key; "
                .. "a name may only contain letters, digits, '_' and '-'.",
              type = "array", required = true, elements = typedefs.header_name,
              default = { "apikey" } } },
          { hide_credentials = {
              description = "Remove the key from the request before it goes upstream.",
              type = "boolean", required = true, default = false } },
          { anonymous = {
              description = "Consumer id or username used when authentication fails; "
                .. "unset: a failed authentication is answered 401.",
              type = "string" } },
          { key_in_header = {
              description = "Look for the key in the request headers.",
              type = "boolean", required = true, default = true } },
          { key_in_query = {
              description = "Look for the key in the query string.",
              type = "boolean", required = true, default = true } },
          { key_in_body = {
              description = "Look for the key in the body (form, JSON or multipart).",
              type = "boolean", required = true, default = false } },
          { run_on_preflight = {
              description = "Authenticate OPTIONS requests too; false lets every OPTIONS request through.",
              type = "boolean", required = true, default = true } },
          { realm = {
              description = "The realm of the `WWW-Authenticate: Key realm=\"...\"` challenge "
                .. "(unset: `WWW-Authenticate: Key`).",
              type = "string", required = false } },
        },
    } },
  },
}

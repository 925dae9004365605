-- response-transformer's schema (Kong 3.x): remove / rename / replace / add / append,
-- each a record of `headers` and `json` string arrays ("name" to remove, "name:value"
-- otherwise), and `json_types` (boolean, number or string per json entry) for replace,
-- add and append.
local typedefs = require "kong.db.schema.typedefs"
local validate_header_name = require("kong.tools.http").validate_header_name

local function validate_colon_headers(pair)
  local name, value = pair:match("^([^:]+):*(.-)$")
  if validate_header_name(name) == nil then
    return nil, string.format("'%s' is not a valid header", tostring(name))
  end
  if validate_header_name(value) == nil then
    return nil, string.format("'%s' is not a valid header", tostring(value))
  end
  return true
end

local function array(elements)
  return { type = "array", default = {}, required = true, elements = elements }
end

local string_array = array({ type = "string" })
local colon_string_array = array({ type = "string", match = "^[^:]+:.*$" })
local colon_headers_array = array({ type = "string", match = "^[^:]+:.*$",
                                    custom_validator = validate_colon_headers })

local json_types = {
  description = "The JSON type of each `json` value (boolean, number or string).",
  type = "array", default = {}, required = true,
  elements = { type = "string", one_of = { "boolean", "number", "string" } },
}

local colon_string_record = {
  type = "record",
  fields = {
    { json = colon_string_array },
    { json_types = json_types },
    { headers = colon_string_array },
  },
}

return {
  name = "response-transformer",
  fields = {
    { protocols = typedefs.protocols_http },
    { config = {
        type = "record",
        fields = {
          { remove = { type = "record", fields = { { json = string_array }, { headers = string_array } } } },
          { rename = { type = "record", fields = { { json = colon_string_array },
                                                   { headers = colon_headers_array } } } },
          { replace = colon_string_record },
          { add = colon_string_record },
          { append = colon_string_record },
        },
      },
    },
  },
}

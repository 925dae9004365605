-- request-transformer's schema (Kong 3.x): http_method, and remove / rename / replace /
-- add / append, each a record of `headers`, `querystring` and `body` string arrays
-- ("name" to remove, "name:value" otherwise; replace also has `uri`).  Values are
-- checked as templates (kong.plugins.request-transformer.template).
local typedefs = require "kong.db.schema.typedefs"
local validate_header_name = require("kong.tools.http").validate_header_name
local template = require "kong.plugins.request-transformer.template"

-- "name:value" entries: the value must be there and be a valid template
local function check_for_value(entry)
  local name, value = entry:match("^([^:]+):*(.-)$")
  if not name or not value or value == "" then
    return false, "key '" .. tostring(name) .. "' has no value"
  end
  local ok, err = template.compile(value)
  if not ok then
    return false, "value '" .. value .. "' is not in supported format, error:" .. err
  end
  return true
end

local function validate_headers(pair, validate_value)
  local name, value = pair:match("^([^:]+):*(.-)$")
  if validate_header_name(name) == nil then
    return nil, string.format("'%s' is not a valid header", tostring(name))
  end
  if validate_value and validate_header_name(value) == nil then
    return nil, string.format("'%s' is not a valid header", tostring(value))
  end
  return true
end

local function validate_colon_headers(pair)
  return validate_headers(pair, true)
end

local function array(elements)
  return { type = "array", default = {}, required = true, elements = elements }
end

local strings_array = array({ type = "string" })
local headers_array = array({ type = "string", custom_validator = validate_headers })
local colon_strings_array = array({ type = "string", custom_validator = check_for_value })
local colon_header_value_array = array({ type = "string", match = "^[^:]+:.*$",
                                         custom_validator = validate_headers })
local colon_headers_array = array({ type = "string", match = "^[^:]+:.*$",
                                    custom_validator = validate_colon_headers })

local function record(body, headers, querystring, extra)
  local fields = {
    { body = body },
    { headers = headers },
    { querystring = querystring },
  }
  if extra then fields[#fields + 1] = extra end
  return { type = "record", fields = fields }
end

return {
  name = "request-transformer",
  fields = {
    { protocols = typedefs.protocols },
    { config = {
        type = "record",
        fields = {
          { http_method = typedefs.http_method },
          { remove = record(strings_array, headers_array, strings_array) },
          { rename = record(colon_strings_array, colon_headers_array, colon_strings_array) },
          { replace = record(colon_strings_array, colon_header_value_array, colon_strings_array,
                             { uri = { type = "string" } }) },
          { add = record(colon_strings_array, colon_header_value_array, colon_strings_array) },
          { append = record(colon_strings_array, colon_header_value_array, colon_strings_array) },
        },
      },
    },
  },
}

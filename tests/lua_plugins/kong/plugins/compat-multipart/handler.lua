-- compat-multipart: edits multipart/form-data bodies with Kong's `multipart` module,
-- as request transformers and serverless adapters (openwhisk) do: reads the fields,
-- adds one, drops one and sends the re-encoded body upstream.
local multipart = require "multipart"

local CompatMultipart = { PRIORITY = 800, VERSION = "1.0.0" }

function CompatMultipart:access(conf)
  local content_type = kong.request.get_header("content-type") or ""
  if not content_type:find("multipart/form-data", 1, true) then return end
  local form = multipart(kong.request.get_raw_body(), content_type)
  local all = form:get_all()
  local names = {}
  for name in pairs(all) do names[#names + 1] = name end
  table.sort(names)
  kong.service.request.set_header("X-Form-Names", table.concat(names, ","))
  local first = form:get(names[1] or "")
  kong.service.request.set_header("X-Form-First-Headers", first and #first.headers or 0)
  kong.service.request.set_header("X-Form-Tags", table.concat(form:get_as_array("tag"), "|"))
  local with_arrays = form:get_all_with_arrays()
  kong.service.request.set_header("X-Form-Tag-Kind", type(with_arrays.tag))
  form:set_simple(conf.add_name, conf.add_value)
  form:delete(conf.remove_name)
  kong.service.request.set_raw_body(form:tostring())
end

return CompatMultipart

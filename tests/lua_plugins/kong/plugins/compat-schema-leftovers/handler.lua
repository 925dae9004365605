-- compat-schema-leftovers: shows the validated config to the upstream.
local CompatSchemaLeftovers = { PRIORITY = 880, VERSION = "1.0.0" }

function CompatSchemaLeftovers:access(conf)
  kong.service.request.set_header("X-Config", string.format("%s|%s|%s", tostring(conf.batch_size),
    conf.label, tostring(conf.debug)))
end

return CompatSchemaLeftovers

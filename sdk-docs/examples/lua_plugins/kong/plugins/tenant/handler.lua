-- tenant: find the request's tenant (a header, else the configured default) and
-- hand it to the plugins that run later through kong.ctx.shared; on the way back,
-- tell the client the plan that tenant-plan (a Python plugin) chose.
local kong = kong

local Tenant = {
  PRIORITY = 1000,  -- before tenant-plan (900)
  VERSION = "1.0.0",
}

function Tenant:access(conf)
  local name = kong.request.get_header(conf.header)
  local source = "header"
  if not name then
    name, source = conf.default_tenant, "default"
  end
  -- a Lua table: Python plugins read it as a mapping, shared["tenant"]["name"]
  kong.ctx.shared.tenant = { name = name, source = source }
  kong.service.request.set_header(conf.header, name)
end

function Tenant:header_filter(conf)
  local plan = kong.ctx.shared.tenant_plan  -- a string tenant-plan stored
  if plan then
    kong.response.set_header("X-Tenant-Plan", plan)
  end
end

return Tenant

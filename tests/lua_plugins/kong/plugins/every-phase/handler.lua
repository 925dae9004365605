-- Every phase, the way Kong's plugin template writes a plugin: each handler logs
-- that it ran; access sets a request header, header_filter a response header.
local kong = kong

local plugin = {
  PRIORITY = 1000,
  VERSION = "0.1",   -- the template's two-part version is valid too
}

-- module-level state, shared by every instance of the plugin in this worker
local configured_count = 0

function plugin:init_worker()
  kong.log.debug("saying hi from the 'init_worker' handler")
end

function plugin:configure(configs)
  configured_count = configs and #configs or 0
  kong.log.notice("configure called with ", configured_count, " configs")
end

function plugin:certificate(plugin_conf)
  kong.log.debug("saying hi from the 'certificate' handler")
end

function plugin:rewrite(plugin_conf)
  kong.log.debug("saying hi from the 'rewrite' handler")
  kong.ctx.shared.every_phase = { "rewrite" }
end

function plugin:access(plugin_conf)
  kong.log.inspect(plugin_conf)
  kong.log.debug("saying hi from the 'access' handler")
  kong.service.request.set_header(plugin_conf.request_header, "this is on a request")
  local seen = kong.ctx.shared.every_phase
  seen[#seen + 1] = "access"
end

function plugin:header_filter(plugin_conf)
  kong.log.debug("saying hi from the 'header_filter' handler")
  kong.response.set_header(plugin_conf.response_header, "this is on the response")
  local seen = kong.ctx.shared.every_phase
  seen[#seen + 1] = "header_filter"
  kong.response.set_header("X-Phases", table.concat(seen, ","))
  kong.response.set_header("X-Configured", configured_count)
end

function plugin:body_filter(plugin_conf)
  kong.log.debug("saying hi from the 'body_filter' handler")
  if ngx.arg and ngx.arg[2] then
    kong.log.debug("last body chunk")
  end
end

function plugin:log(plugin_conf)
  kong.log.notice("saying hi from the 'log' handler: ", kong.response.get_status())
end

return plugin

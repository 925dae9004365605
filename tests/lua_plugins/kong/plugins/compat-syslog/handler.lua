-- Test plugin: in the log phase, one syslog line (facility local0, severity warning)
-- with the workspace and the request's uri from kong.log.serialize given options as
-- Kong's statsd gives them.
local lsyslog = require "lsyslog"
local workspaces = require "kong.workspaces"

local Handler = { PRIORITY = 5, VERSION = "1.0.0" }

function Handler:log(conf)
  local entry = kong.log.serialize({ ngx = ngx, kong = kong })
  lsyslog.open("moongate-test", lsyslog.FACILITY_LOCAL0)
  lsyslog.log(lsyslog.LOG_WARNING, "ws=" .. workspaces.get_workspace_id() .. " name="
    .. workspaces.get_workspace_name() .. " uri=" .. entry.request.uri)
end

return Handler

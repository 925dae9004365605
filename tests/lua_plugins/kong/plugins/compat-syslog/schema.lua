-- Test plugin: writes one syslog line per request through lsyslog (Kong's syslog
-- plugin's binding), naming the workspace (kong.workspaces).
return {
  name = "compat-syslog",
  fields = { { config = { type = "record", fields = {} } } },
}

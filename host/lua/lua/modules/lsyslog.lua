-- lsyslog: the syslog(3) binding Kong's syslog plugin requires.  `open(ident,
-- facility)` then `log(level, message)`; LOG_* and FACILITY_* carry syslog.h's values.
-- The lines go to the syslog_target setting (host/lua/modules/lsyslog.py), without
-- blocking the worker.
local backing = ...

local M = {}
for name, value in pairs(backing.constants()) do M[name] = value end

function M.open(ident, facility)
  backing.open(ident, facility)
end

function M.log(level, message)
  backing.log(level, message)
end

return M

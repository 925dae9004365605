-- `kong.tools.utils`: the catch-all helper module of Kong 0.x-2.x.  As in Kong
-- 3.10 it re-exports every function of kong.tools.{table, uuid, rand, time,
-- string, ip, http}; for plugins written for Kong 2.x it also keeps
-- load_module_if_exists (kong.tools.module) and yield (kong.tools.yield), which
-- Kong 3.x moved out.
local _, H = ...
local pairs, ipairs = pairs, ipairs

local _M = {}

for _, name in ipairs({
  "kong.tools.module", "kong.tools.yield",       -- Kong 2.x compatibility
  "kong.tools.table", "kong.tools.uuid", "kong.tools.rand", "kong.tools.time",
  "kong.tools.string", "kong.tools.ip", "kong.tools.http",
}) do
  for k, v in pairs(H.require(name)) do
    _M[k] = v
  end
end

return _M

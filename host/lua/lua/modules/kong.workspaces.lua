-- kong.workspaces: Moongate has one workspace, "default", whose id is the one log
-- entries carry (pdk/_serialize.py).  A request may name another (set_workspace), as
-- Kong's ngx.ctx.workspace does; nothing else reads it.
local backing, H = ...

local DEFAULT_ID = backing.default_id()
local M = {}

local function ngx_ctx()
  local R = H.current()
  return R and R.ngx_ctx
end

function M.upsert_default()
  return { id = DEFAULT_ID, name = "default" }
end

function M.get_workspace()
  local ctx = ngx_ctx()
  local id = ctx and ctx.workspace or DEFAULT_ID
  return { id = id, name = id == DEFAULT_ID and "default" or nil }
end

function M.get_workspace_name()
  return "default"
end

function M.set_workspace(ws)
  local ctx = ngx_ctx()
  if ctx then ctx.workspace = ws and ws.id end
end

function M.get_workspace_id(ctx)
  local own = ctx or ngx_ctx()
  if own == nil then return nil end -- outside requests
  return own.workspace or DEFAULT_ID
end

return M

-- `resty.counter`: lock-free counters (Kong's lua-resty-counter): increments are
-- added up in the worker and written to an ngx.shared dict by `sync()`, by hand
-- or every `sync_interval` seconds from a timer.
--
--   local c = counter.new("kong_counters", 1)   -- raises if the dict is not defined
--   c:incr("hits")            -- local, cheap
--   c:sync()                  -- dict:incr(key, sum, 0) for every pending key
--   c:get("hits")             -- the dict's value (synced increments only)
--   c:reset("hits", n)        -- dict:incr(key, -n, n)
--
-- Pending increments are per worker and per dict: every counter made for the same
-- dict shares them, and one timer per dict syncs them.
local _, H = ...
local pairs, error, setmetatable, tonumber, tostring = pairs, error, setmetatable, tonumber, tostring
local clear_tab = H.require("table.clear")

local _M = { _VERSION = "0.2.1" }
local mt = { __index = _M }

local increments = {}       -- dict name -> {key -> pending sum}
local timer_started = {}    -- dict name -> true

local WARN, DEBUG = 5, 8    -- ngx.WARN, ngx.DEBUG

local function sync(premature, self)
  local ngx = H.ngx
  local ok = true
  for k, v in pairs(self.increments) do
    local _, err = self.dict:incr(k, v, 0)
    if err then
      ngx.log(WARN, "error increasing counter in shdict key: ", k, ", err: ", err)
      ok = false
    end
  end
  clear_tab(self.increments)
  return ok
end

--- A counter writing to shared dict `shdict_name`; syncs every `sync_interval`
--- seconds when given.
function _M.new(shdict_name, sync_interval)
  local ngx = H.ngx
  local shared = ngx.shared
  local dict = shared and shdict_name ~= nil and shared[shdict_name]
  if not dict then
    error("shared dict \"" .. tostring(shdict_name or "nil") .. "\" not defined", 2)
  end
  if not increments[shdict_name] then
    increments[shdict_name] = {}
  end
  local self = setmetatable({
    dict = dict,
    increments = increments[shdict_name],
  }, mt)
  if sync_interval then
    sync_interval = tonumber(sync_interval)
    if not sync_interval or sync_interval < 0 then
      error("expect sync_interval to be a positive number", 2)
    end
    if not timer_started[shdict_name] then
      ngx.log(DEBUG, "start timer for shdict ", shdict_name, " on worker ", ngx.worker.id())
      ngx.timer.every(sync_interval, sync, self)
      timer_started[shdict_name] = true
    end
  end
  return self
end

--- Write the pending increments to the dict; false when one failed.
function _M:sync()
  return sync(false, self)
end

--- Add `step` (default 1) to `key` locally.
function _M:incr(key, step)
  step = step or 1
  local v = self.increments[key]
  if v then step = step + v end
  self.increments[key] = step
  return true
end

--- Subtract `number` from the dict's value: dict:incr(key, -number, number).
function _M:reset(key, number)
  if not number then
    return nil, "expect a number at #2"
  end
  return self.dict:incr(key, -number, number)
end

--- The dict's value of `key`.
function _M:get(key)
  return self.dict:get(key)
end

--- The dict's keys (at most max_count).
function _M:get_keys(max_count)
  return self.dict:get_keys(max_count)
end

return _M

-- resty.lock (openresty/lua-resty-lock): a non-blocking lock in an ngx.shared dict.
-- `lock:new(dict_name, { exptime = 30, timeout = 5, step = 0.001, ratio = 2,
-- max_step = 0.5 })`; `:lock(key)` -> seconds waited | nil, "timeout" / "locked" /
-- "nil key"; `:unlock()` -> 1 | nil, "unlocked"; `:expire(seconds?)`.  Waiting sleeps
-- (ngx.sleep: other requests run).  A lock object collected while it holds its key
-- releases it.  The dicts are per worker process in Moongate (lua-guide.md, section 8),
-- so the lock is the worker's.
local _, H = ...

local setmetatable, getmetatable, newproxy = setmetatable, getmetatable, newproxy
local min, max = math.min, math.max

local _M = { _VERSION = "0.09" }
local mt = { __index = _M }

-- an object that deletes `state.key` from `state.dict` when collected, if still held
local function guard(state)
  local proxy = newproxy(true)
  getmetatable(proxy).__gc = function()
    if state.key ~= nil then state.dict:delete(state.key) end
  end
  return proxy
end

function _M.new(_, dict_name, opts)
  local dict = H.ngx.shared[dict_name]
  if not dict then return nil, "dictionary not found" end
  opts = opts or {}
  local exptime = opts.exptime or 30
  local timeout = opts.timeout
  local step = opts.step
  if timeout then
    timeout = min(timeout, exptime)
    if step then step = min(step, timeout) end
  end
  local state = { dict = dict }
  return setmetatable({
    state = state,
    guard = guard(state),
    timeout = timeout or 5,
    exptime = exptime,
    step = step or 0.001,
    ratio = opts.ratio or 2,
    max_step = opts.max_step or 0.5,
  }, mt)
end

function _M.lock(self, key)
  if key == nil then return nil, "nil key" end
  local state = self.state
  if state.key ~= nil then return nil, "locked" end
  local dict, exptime = state.dict, self.exptime
  local ok, err = dict:add(key, true, exptime)
  if ok then
    state.key = key
    return 0
  end
  if err ~= "exists" then return nil, err end
  local step, timeout, elapsed = self.step, self.timeout, 0
  while timeout > 0 do
    H.ngx.sleep(step)
    elapsed = elapsed + step
    timeout = timeout - step
    ok, err = dict:add(key, true, exptime)
    if ok then
      state.key = key
      return elapsed
    end
    if err ~= "exists" then return nil, err end
    if timeout <= 0 then break end
    step = min(max(0.001, step * self.ratio), timeout, self.max_step)
  end
  return nil, "timeout"
end

function _M.unlock(self)
  local state = self.state
  if state.key == nil then return nil, "unlocked" end
  local ok, err = state.dict:delete(state.key)
  if not ok then return nil, err end
  state.key = nil
  return 1
end

function _M.expire(self, seconds)
  local state = self.state
  if state.key == nil then return nil, "unlocked" end
  local ok, err = state.dict:replace(state.key, true, seconds or self.exptime)
  if not ok then return nil, err end
  return true
end

return _M

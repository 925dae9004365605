-- kong.worker_events and kong.cluster_events, in-process.
--
-- worker_events follows lua-resty-events' compat API (what Kong 3.x exposes):
--   register(callback, source?, event?, ...)   source/event default to "*" (all)
--   unregister(callback)                       removes every subscription of callback
--   post(source, event, data, unique?)         -> "done"; handlers run after the poster
--   post_local(source, event, data)            -> "done"; same, this worker only
-- Handlers are called as handler(data, event, source, wid) in a background coroutine
-- (they may wait for I/O); an error in one is logged and the others still run.  There
-- is one worker per runtime here, so post and post_local reach the same handlers, and
-- events never cross to other worker processes.
--
-- cluster_events (kong.cluster_events:broadcast/subscribe): a node never receives its
-- own broadcasts in Kong, and Moongate runs as a single node, so broadcast validates
-- its arguments and returns true; subscribers are kept but never called.
local B, H = ...
local type, pairs, ipairs, select, tostring, error, xpcall = type, pairs, ipairs, select, tostring, error, xpcall
local traceback = debug.traceback

local defer = B.defer

---------------------------------------------------------------------------------
-- worker events
---------------------------------------------------------------------------------
local subs = {}      -- source -> event -> list of callbacks (in registration order)
local by_cb = {}     -- callback -> list of {source, event}

local function log_failure(source, event, err)
  local ngx = H.ngx
  if ngx and ngx.log then
    ngx.log(ngx.ERR, "worker-events: event callback failed; source=", source,
      ", event=", event, " error='", tostring(err), "'")
  end
end

local function run_list(list, data, event, source, wid)
  if not list then return end
  -- a copy: handlers may (un)register while we iterate
  local copy = {}
  for i, cb in ipairs(list) do copy[i] = cb end
  for _, cb in ipairs(copy) do
    local ok, err = xpcall(cb, traceback, data, event, source, wid)
    if not ok then log_failure(source, event, err) end
  end
end

local function dispatch(source, event, data, wid)
  local all = subs["*"]
  run_list(all and all["*"], data, event, source, wid)
  local s = subs[source]
  if s then
    run_list(s["*"], data, event, source, wid)
    run_list(s[event], data, event, source, wid)
  end
  return true
end

local function check_post(source, event)
  if type(source) ~= "string" or source == "" then error("source is required", 3) end
  if type(event) ~= "string" or event == "" then error("event is required", 3) end
end

local function publish(source, event, data)
  if not defer(dispatch, source, event, data) then
    dispatch(source, event, data)
  end
  return "done"
end

local worker_events = {}

function worker_events.register(callback, source, ...)
  if type(callback) ~= "function" then
    error("expected function, got: " .. type(callback), 2)
  end
  source = source or "*"
  local n = select("#", ...)
  local events = n == 0 and { "*" } or { ... }
  for i = 1, (n == 0 and 1 or n) do
    local event = events[i] or "*"
    local s = subs[source]
    if not s then s = {}; subs[source] = s end
    local list = s[event]
    if not list then list = {}; s[event] = list end
    list[#list + 1] = callback
    local mine = by_cb[callback]
    if not mine then mine = {}; by_cb[callback] = mine end
    mine[#mine + 1] = { source, event }
  end
end
worker_events.register_weak = worker_events.register

function worker_events.unregister(callback)
  local mine = by_cb[callback]
  if not mine then return end
  by_cb[callback] = nil
  for _, se in ipairs(mine) do
    local list = subs[se[1]] and subs[se[1]][se[2]]
    if list then
      for i = #list, 1, -1 do
        if list[i] == callback then table.remove(list, i) end
      end
    end
  end
  return true
end

function worker_events.post(source, event, data, unique)
  check_post(source, event)
  return publish(source, event, data)
end

function worker_events.post_local(source, event, data)
  check_post(source, event)
  return publish(source, event, data)
end

function worker_events.poll() return "done" end
function worker_events.configured() return true end
function worker_events.configure() return true end

--- Run the handlers of an event now, in the caller's coroutine (host use: config reloads).
worker_events.dispatch_now = dispatch

---------------------------------------------------------------------------------
-- cluster events
---------------------------------------------------------------------------------
local cluster_events = { callbacks = {} }

function cluster_events:broadcast(channel, data, delay)
  if type(channel) ~= "string" then return nil, "channel must be a string" end
  if type(data) ~= "string" then return nil, "data must be a string" end
  if delay and type(delay) ~= "number" then return nil, "delay must be a number" end
  return true
end

function cluster_events:subscribe(channel, cb, start_polling)
  if type(channel) ~= "string" then return error("channel must be a string") end
  if type(cb) ~= "function" then return error("callback must be a function") end
  local list = self.callbacks[channel]
  if not list then list = {}; self.callbacks[channel] = list end
  list[#list + 1] = cb
  return true
end

return { worker_events = worker_events, cluster_events = cluster_events }

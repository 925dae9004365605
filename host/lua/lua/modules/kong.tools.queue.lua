-- kong.tools.queue: Kong's batching queue (http-log, datadog, statsd, opentelemetry,
-- zipkin).
--
--   Queue.enqueue(queue_conf, handler, handler_conf, entry) -> true | nil, err
--   Queue.can_enqueue(queue_conf, entry), Queue.is_full(queue_conf), Queue.exists(name)
--   Queue.get_plugin_params(plugin_name, config, default_name) -> queue_conf
--
-- As in Kong: a queue is made on the first enqueue under its name (per worker) and a
-- timer (ngx.timer.at) starts sending; it takes the first entry, then waits up to
-- `max_coalescing_delay` for more, up to `max_batch_size`, and calls
-- `handler(handler_conf, entries)` (handler_conf is the latest one enqueued).  A
-- handler that fails (error, or anything but `true`) is retried after
-- `initial_retry_delay`, doubled each time up to `max_retry_delay`, until
-- `max_retry_time` has passed; then the batch is dropped with a log line.  When the
-- queue holds `max_entries` (or `max_bytes` of string entries) the oldest entries are
-- dropped to make room, logged.  The timer ends, and the queue is forgotten, when the
-- queue is empty.  `concurrency_limit = -1` sends each entry from its own timer.
-- During shutdown the coalescing wait shrinks so queued entries are sent at once.
-- Queues are keyed by name only (Moongate has one workspace).
local B, H = ...

local type, tostring, select, pcall, assert, unpack, pairs, ipairs =
  type, tostring, select, pcall, assert, unpack, pairs, ipairs
local min, format = math.min, string.format
local ngx = H.ngx
local now, sleep, timer_at, null = ngx.now, ngx.sleep, ngx.timer.at, ngx.null
local io = H.io
local wake, forget = B.wake, B.forget

local CAPACITY_WARNING_THRESHOLD = 0.8
local COALESCE_POLL_TIME = 1.0
local COALESCE_MIN_TIME = 0.05
local MIN_WARNING_INTERVAL_SECONDS = 60

local Queue = { _CAPACITY_WARNING_THRESHOLD = CAPACITY_WARNING_THRESHOLD }

local queues = {}   -- name -> queue

local function log(q, level, fmt, ...)
  local message = "[" .. (q.log_tag or "") .. "] queue " .. q.name .. ": "
    .. (select("#", ...) > 0 and format(fmt, ...) or fmt)
  H.kong.log[level](message)
end

local function count(q) return q.back - q.front end

-- (entries left, bytes left or nil) before the queue is full
local function remaining(q)
  local entries = q.max_entries - count(q)
  if not q.max_bytes then return entries end
  return entries, q.max_bytes - q.bytes_queued
end

local function is_full(q)
  local entries, bytes = remaining(q)
  return entries <= 0 or (bytes ~= nil and bytes <= 0)
end

local function too_large(q, entry)
  return q.max_bytes ~= nil and type(entry) == "string" and #entry > q.max_bytes
end

local function exceeds_bytes(q, entry)
  if not q.max_bytes or type(entry) ~= "string" then return false end
  local _, bytes = remaining(q)
  return #entry > bytes
end

local function can_enqueue(q, entry)
  return not (is_full(q) or too_large(q, entry) or exceeds_bytes(q, entry))
end

local function drop_front(q)
  local entry = q.entries[q.front]
  if q.max_bytes and type(entry) == "string" then q.bytes_queued = q.bytes_queued - #entry end
  q.entries[q.front] = nil
  q.front = q.front + 1
  if q.front == q.back then q.front, q.back = 1, 1 end
end

-- Call the handler until it succeeds or max_retry_time has passed.
local function handle(q, batch)
  local started, retries = now(), 0
  while true do
    local ok, res, err = pcall(q.handler, q.handler_conf, batch)
    if ok and res == true then return end
    if not ok then err = res end
    log(q, "warn", "handler could not process entries: %s",
        tostring(err or "no error details returned by handler"))
    if not err then log(q, "err", "handler returned falsy value but no error information") end
    if now() - started > q.max_retry_time then
      log(q, "err", "could not send entries due to max_retry_time exceeded. %d queue entries were lost",
          #batch)
      return
    end
    sleep(min(q.max_retry_delay, 2 ^ retries * q.initial_retry_delay))
    retries = retries + 1
  end
end

-- Take one batch: the first entry, plus what arrives within max_coalescing_delay.
local function process_once(q)
  local started = now()
  local n = min(count(q), q.max_batch_size)
  while n < q.max_batch_size do
    local left = q.max_coalescing_delay - (now() - started)
    if left < COALESCE_MIN_TIME then break end
    local wait = min(left, COALESCE_POLL_TIME)
    if ngx.worker.exiting() then
      q.max_coalescing_delay = COALESCE_MIN_TIME
      wait = COALESCE_MIN_TIME
    end
    q.waiting = true
    io("kong.tools.queue.wait", q.name, wait)
    q.waiting = false
    n = min(count(q), q.max_batch_size)
  end
  local batch = { unpack(q.entries, q.front, q.front + n - 1) }
  for _ = 1, n do drop_front(q) end
  if q.dropped then
    log(q, "info", "queue resumed processing")
    q.dropped = false
  end
  handle(q, batch)
end

local function run(_premature, q)
  while count(q) > 0 do process_once(q) end
  queues[q.name] = nil
  forget(q.name)
end

local function get_queue(conf, handler, handler_conf)
  local name = conf.name
  local q = queues[name]
  if q then
    q.handler_conf = handler_conf
    return q
  end
  q = { handler = handler, handler_conf = handler_conf, bytes_queued = 0, entries = {},
        front = 1, back = 1 }
  for k, v in pairs(conf) do q[k] = v end
  q.name = name
  if q.concurrency_limit == 1 then
    local ok, err = timer_at(0, run, q)
    if not ok then return nil, "failed to create timer: " .. tostring(err) end
    queues[name] = q
  end
  return q
end

local function enqueue(q, entry)
  if entry == nil then return nil, "entry must be a non-nil Lua value" end
  if q.concurrency_limit == -1 then
    local ok, err = timer_at(0, function(premature)
      if not premature then handle(q, { entry }) end
    end)
    if not ok then return nil, "failed to crete timer: " .. tostring(err) end
    return true
  end
  if count(q) >= q.max_entries * CAPACITY_WARNING_THRESHOLD then
    if not q.warned then
      log(q, "warn", "queue at %s%% capacity", CAPACITY_WARNING_THRESHOLD * 100)
      q.warned = true
    end
  else
    q.warned = nil
  end
  if remaining(q) <= 0 then
    log(q, "err", "queue full, dropping old entries until processing is successful again")
    drop_front(q)
    q.dropped = true
  end
  if too_large(q, entry) then
    local msg = format("string to be queued is longer (%d bytes) than the queue's max_bytes (%d bytes)",
                       #entry, q.max_bytes)
    log(q, "err", msg)
    return nil, msg
  end
  if exceeds_bytes(q, entry) then
    local dropped = 0
    repeat
      drop_front(q)
      dropped = dropped + 1
    until not exceeds_bytes(q, entry)
    q.dropped = true
    log(q, "err", "byte capacity exceeded, %d queue entries were dropped", dropped)
  end
  if q.max_bytes then
    if type(entry) ~= "string" then
      log(q, "err", "queuing non-string entry to a queue that has queue.max_bytes set, "
          .. "capacity monitoring will not be correct")
    else
      q.bytes_queued = q.bytes_queued + #entry
    end
  end
  q.entries[q.back] = entry
  q.back = q.back + 1
  if q.waiting then wake(q.name) end
  return true
end

local NUMBER_FIELDS = { "max_batch_size", "max_coalescing_delay", "max_entries", "max_retry_time",
                        "initial_retry_delay", "max_retry_delay" }

function Queue.enqueue(queue_conf, handler, handler_conf, value)
  assert(type(queue_conf) == "table", "arg #1 (queue_conf) must be a table")
  assert(type(handler) == "function", "arg #2 (handler) must be a function")
  assert(handler_conf == nil or type(handler_conf) == "table",
         "arg #3 (handler_conf) must be a table or nil")
  assert(type(queue_conf.name) == "string", "arg #1 (queue_conf) must include a name")
  for _, field in ipairs(NUMBER_FIELDS) do
    assert(type(queue_conf[field]) == "number", "arg #1 (queue_conf) " .. field .. " must be a number")
  end
  local max_bytes = type(queue_conf.max_bytes)
  assert(max_bytes == "nil" or max_bytes == "number",
         "arg #1 (queue_conf) max_bytes must be a number or nil")
  assert(type(queue_conf.concurrency_limit) == "number",
         "arg #1 (queue_conf) concurrency_limit must be a number")
  local q, err = get_queue(queue_conf, handler, handler_conf)
  if not q then return nil, err end
  return enqueue(q, value)
end

function Queue.exists(name)
  return queues[name] ~= nil
end

--- For tests: whether queue `name` still holds entries.
function Queue._exists(name)
  local q = queues[name]
  return q ~= nil and count(q) > 0
end

function Queue.is_full(queue_conf)
  local q = queues[queue_conf.name]
  return q ~= nil and is_full(q)
end

--- Whether `entry` can be queued without dropping anything (true for a queue that
-- does not exist yet, as in Kong).
function Queue.can_enqueue(queue_conf, entry)
  local q = queues[queue_conf.name]
  if not q then return true end
  return can_enqueue(q, entry)
end

local warned_at = {}

local function warn_legacy(name, message)
  local key = name .. "/" .. message
  if now() - (warned_at[key] or 0) >= MIN_WARNING_INTERVAL_SECONDS then
    H.kong.log.warn(message)
    warned_at[key] = now()
  end
end

-- legacy plugin fields: (field, its default, the queue field it maps to, message)
local LEGACY = {
  { "queue_size", 1, "max_batch_size", "the queue_size parameter is deprecated, please update your "
    .. "configuration to use queue.max_batch_size instead" },
  { "flush_timeout", 2, "max_coalescing_delay", "the flush_timeout parameter is deprecated, please "
    .. "update your configuration to use queue.max_coalescing_delay instead" },
  { "batch_span_count", 200, "max_batch_size", "the batch_span_count parameter is deprecated, please "
    .. "update your configuration to use queue.max_batch_size instead" },
  { "batch_flush_delay", 3, "max_coalescing_delay", "the batch_flush_delay parameter is deprecated, "
    .. "please update your configuration to use queue.max_coalescing_delay instead" },
}

--- The queue parameters of a plugin configuration: `config.queue` with a log tag, a
-- name (`default_name`, else the plugin's id) and the legacy fields mapped.
function Queue.get_plugin_params(plugin_name, config, default_name)
  local conf = config.queue or {}
  local id = H.kong.plugin.get_id()
  local tag = plugin_name .. " plugin " .. tostring(id)
  if config.plugin_instance_name then
    tag = tag .. " (" .. config.plugin_instance_name .. ")"
  end
  conf.log_tag = tag
  if not conf.name then conf.name = default_name or id end
  local retry_count = config.retry_count
  if retry_count ~= nil and retry_count ~= null and retry_count ~= 10 then
    warn_legacy(conf.name, "the retry_count parameter no longer works, please update your "
      .. "configuration to use initial_retry_delay and max_retry_time instead")
  end
  for _, legacy in ipairs(LEGACY) do
    local value = config[legacy[1]]
    if value ~= nil and value ~= null and value ~= legacy[2] then
      conf[legacy[3]] = value
      warn_legacy(conf.name, legacy[4])
    end
  end
  return conf
end

return Queue

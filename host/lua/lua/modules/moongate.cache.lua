-- kong.cache (and kong.core_cache): Kong's mlcache-backed entity cache, per worker, in Lua.
--
--   cache:get(key, opts?, cb?, ...)   -> value, err, hit_level
--       hit: level 1; a value another coroutine just loaded: level 2; loaded now: 3;
--       miss without cb: nil, nil, -1.  On a miss cb(...) returns value, err, ttl?:
--       a nil value is cached as a negative hit (neg_ttl), an error is returned and
--       not cached, a negative ttl returns the value without caching it, a cb that
--       raises gives nil, "failed to get from node cache: callback threw an error: ...".
--       Concurrent misses of one key run cb once: the others wait (up to 5 s, Kong's
--       lock timeout) for its result; a loader that never finished is taken over after
--       10 s (the lock's expiry).
--   cache:probe(key)                  -> ttl (0 = never expires), nil, value
--   cache:renew(key, opts?, cb, ...)  -> value, nil, ttl      (runs cb, stores its value)
--   cache:get_bulk({n = N, key, opts, cb, arg, ...}, opts?) -> {value, err, hit_level, ..., n = 3N}
--   cache:safe_set(key, value), cache:invalidate(key), cache:invalidate_local(key), cache:purge()
-- opts: ttl, neg_ttl (seconds, 0 = never expire); defaults from kong.conf, 0 in DB-less.
--
-- Values are kept as they are (tables by reference, as in mlcache's worker-level LRU).
-- The cache belongs to one worker: invalidations do not reach other worker processes.
-- It is emptied when a request comes with a configuration it has not served before
-- (DB-less Kong purges its cache when it loads a new configuration).
local B, H = ...
local type, tostring, error, xpcall, select = type, tostring, error, xpcall, select
local traceback = debug.traceback
local co_isyieldable = coroutine.isyieldable
local ceil = math.ceil

local now, wake = B.now, B.wake
local DEFAULT_TTL, DEFAULT_NEG_TTL = B.defaults()
local LOCK_TIMEOUT, LOCK_EXPTIME = 5, 10   -- Kong's resty.lock options for its caches
local MISS = {}                            -- a cached nil (negative hit)
local CACHEABLE = { number = true, boolean = true, string = true, table = true, ["nil"] = true }

local entries = {}       -- key -> { value, exp } (exp 0: never expires)
local pending = {}       -- key -> { token, started, waiters }: a loader is running
local generation = 0     -- bumped by purge: loads started before do not store
local tokens = 0
local config_key = false

-- empty the cache when the request's configuration is not the one it was filled from
H.require("moongate.db")  -- H.snapshot_key
local function check_config()
  local key = H.snapshot_key()
  if key ~= config_key then
    if config_key then
      entries = {}
      generation = generation + 1
    end
    config_key = key
  end
end

local function lookup(key)
  local e = entries[key]
  if e == nil then return nil, false end
  if e[2] ~= 0 and e[2] <= now() then
    entries[key] = nil
    return nil, false
  end
  local v = e[1]
  if v == MISS then return nil, true end
  return v, true
end

local function store(key, value, ttl, neg_ttl)
  if value == nil then
    ttl, value = neg_ttl, MISS
  end
  entries[key] = { value, ttl > 0 and now() + ttl or 0 }
end

local function check_opts(opts)
  local ttl, neg_ttl
  if opts ~= nil then
    if type(opts) ~= "table" then error("opts must be a table", 3) end
    ttl, neg_ttl = opts.ttl, opts.neg_ttl
    if ttl ~= nil then
      if type(ttl) ~= "number" then error("opts.ttl must be a number", 3) end
      if ttl < 0 then error("opts.ttl must be >= 0", 3) end
    end
    if neg_ttl ~= nil then
      if type(neg_ttl) ~= "number" then error("opts.neg_ttl must be a number", 3) end
      if neg_ttl < 0 then error("opts.neg_ttl must be >= 0", 3) end
    end
  end
  return ttl or DEFAULT_TTL, neg_ttl or DEFAULT_NEG_TTL
end

-- wait while another coroutine loads `key`: true (our turn), false + value (it was
-- loaded meanwhile; only when `want_value`), nil (timed out)
local function wait_turn(key, want_value)
  while true do
    local p = pending[key]
    if p == nil then return true end
    if now() - p.started >= LOCK_EXPTIME or not co_isyieldable() then
      return true   -- an abandoned loader, or we cannot wait here: load it ourselves
    end
    p.waiters = p.waiters + 1
    local ok = H.io("cache_wait", p.token, LOCK_TIMEOUT)
    if want_value then
      local v, found = lookup(key)
      if found then return false, v end
    end
    if not ok then return nil end
  end
end

local function release(key, p)
  if pending[key] == p then pending[key] = nil end
  if p.waiters > 0 then wake(p.token) end
end

-- run the loader as the holder of `key`: value, err, ttl used (negative: not cached)
local function run(key, ttl, neg_ttl, cb, ...)
  tokens = tokens + 1
  local p = { token = tokens, started = now(), waiters = 0 }
  pending[key] = p
  local gen = generation
  local ok, value, err, new_ttl = xpcall(cb, traceback, ...)
  if not ok then
    release(key, p)
    return nil, "callback threw an error: " .. tostring(value)
  end
  if err then
    release(key, p)
    return value, tostring(err)
  end
  if type(new_ttl) == "number" then
    if new_ttl < 0 then
      release(key, p)
      return value, nil, new_ttl
    end
    if value == nil then neg_ttl = new_ttl else ttl = new_ttl end
  end
  if not CACHEABLE[type(value)] then
    release(key, p)
    error("cannot cache value of type " .. type(value), 3)
  end
  if gen == generation then store(key, value, ttl, neg_ttl) end
  release(key, p)
  return value, nil, value == nil and neg_ttl or ttl
end

-- mlcache's get: value, err, hit_level (errors without Kong's prefix)
local function fetch(key, opts, cb, ...)
  local v, found = lookup(key)
  if found then return v, nil, 1 end
  local ttl, neg_ttl = check_opts(opts)
  if cb == nil then return nil, nil, -1 end
  local turn
  turn, v = wait_turn(key, true)
  if turn == false then return v, nil, 2 end
  if turn == nil then return nil, "could not acquire callback lock: timeout" end
  local value, err = run(key, ttl, neg_ttl, cb, ...)
  if err then return nil, err end
  return value, nil, 3
end

local cache = {}

function cache:get(key, opts, cb, ...)
  if type(key) ~= "string" then error("key must be a string", 2) end
  if cb ~= nil and type(cb) ~= "function" then error("callback must be nil or a function", 2) end
  check_config()
  local v, err, hit = fetch(key, opts, cb, ...)
  if err then return nil, "failed to get from node cache: " .. err end
  return v, nil, hit
end

function cache:renew(key, opts, cb, ...)
  if type(key) ~= "string" then error("key must be a string", 2) end
  local ttl, neg_ttl = check_opts(opts)
  if type(cb) ~= "function" then error("callback must be a function", 2) end
  check_config()
  if wait_turn(key, false) == nil then
    return nil, "failed to renew key in node cache: could not acquire callback lock: timeout"
  end
  local value, err, used_ttl = run(key, ttl, neg_ttl, cb, ...)
  if err then return nil, "failed to renew key in node cache: " .. err end
  return value, nil, used_ttl
end

function cache:get_bulk(bulk, opts)
  if type(bulk) ~= "table" then error("bulk must be a table", 2) end
  if opts ~= nil and type(opts) ~= "table" then error("opts must be a table", 2) end
  if not bulk.n then error("bulk must have n field", 2) end
  check_config()
  local res = {}
  for i = 1, bulk.n * 4, 4 do
    local key, op_opts, cb = bulk[i], bulk[i + 1], bulk[i + 2]
    if type(key) ~= "string" then
      error("key at index " .. i .. " must be a string for operation " .. ceil(i / 4)
        .. " (got " .. type(key) .. ")", 2)
    end
    if type(cb) ~= "function" then
      error("callback at index " .. i + 2 .. " must be a function for operation " .. ceil(i / 4)
        .. " (got " .. type(cb) .. ")", 2)
    end
    local j = (i - 1) / 4 * 3 + 1
    res[j], res[j + 1], res[j + 2] = fetch(key, op_opts, cb, bulk[i + 3])
  end
  res.n = bulk.n * 3
  return res
end

function cache:probe(key)
  if type(key) ~= "string" then error("key must be a string", 2) end
  check_config()
  local e = entries[key]
  if e == nil then return nil, nil, nil end
  local ttl = 0
  if e[2] ~= 0 then
    ttl = e[2] - now()
    if ttl <= 0 then return nil, nil, nil end
  end
  local v = e[1]
  if v == MISS then v = nil end
  return ttl, nil, v
end

function cache:safe_set(key, value)
  if not CACHEABLE[type(value)] then error("cannot cache value of type " .. type(value), 2) end
  check_config()
  store(key, value, DEFAULT_TTL, DEFAULT_TTL)
  return true, nil, false
end

function cache:invalidate_local(key)
  if type(key) ~= "string" then error("key must be a string", 2) end
  entries[key] = nil
end

function cache:invalidate(key)
  if type(key) ~= "string" then error("key must be a string", 2) end
  entries[key] = nil   -- one node, one worker: nothing to broadcast
end

function cache:purge()
  entries = {}
  generation = generation + 1
end

--- Number of cached keys (tests, diagnostics).
function cache:count()
  local n = 0
  for _ in pairs(entries) do n = n + 1 end
  return n
end

return cache

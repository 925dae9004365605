-- ngx.shared.DICT: OpenResty's lua_shared_dict API in pure Lua, one store per worker.
--
-- Unlike nginx's shared memory zones these dictionaries live in the worker's Lua
-- runtime: they are NOT shared between worker processes (each worker counts its own
-- rate-limiting hits, holds its own locks).  Everything else follows OpenResty:
--   * values are strings, numbers, booleans (nil deletes); tables give "bad value type";
--   * expiry in seconds (millisecond resolution), 0 = never; expired items stay until
--     overwritten, evicted or flush_expired() (get_stale still sees them);
--   * a capacity in bytes; when full, `set`/`add`/`incr`/`lpush` evict the least
--     recently used items (forcible = true) and `safe_*` answer nil, "no memory".
--     Item sizes are estimated (key + value + a fixed overhead per item);
--   * Kong's zones (kong, kong_locks, kong_db_cache, kong_rate_limiting_counters,
--     prometheus_metrics, ...) exist from the start; any other name is created on
--     first use.
local B = ...
local type, tostring, tonumber, error, pairs, setmetatable, rawset = type, tostring, tonumber, error, pairs, setmetatable, rawset
local floor = math.floor

local now = B.now
local ITEM_OVERHEAD = 64       -- bytes counted per item besides key and value
local LIST_ITEM_OVERHEAD = 32  -- bytes counted per list element besides its value
local MAX_EVICTIONS = 30       -- nginx frees at most 30 items to make room for one
local NEVER = 0

local ZONES = {}   -- dict object -> zone state

---------------------------------------------------------------------------------
-- zone state: a key -> node map and an LRU list (most recently used at the head)
---------------------------------------------------------------------------------
local function new_zone(name, capacity)
  local head = {}
  head.prev, head.next = head, head
  return { name = name, capacity = capacity, used = 0, map = {}, head = head }
end

local function unlink(node)
  node.prev.next = node.next
  node.next.prev = node.prev
end

local function push_head(z, node)
  local head = z.head
  node.next = head.next
  node.prev = head
  head.next.prev = node
  head.next = node
end

local function touch(z, node)
  unlink(node)
  push_head(z, node)
end

local function remove(z, node)
  unlink(node)
  z.map[node.key] = nil
  z.used = z.used - node.size
end

local function value_size(v)
  if type(v) == "string" then return #v end
  return 8
end

local function expired(node, t)
  local exp = node.exp
  return exp ~= NEVER and exp <= t
end

-- the current time, read once per call and only when an expiry matters
local function clock(t)
  if t then return t end
  return now()
end

local function is_expired(node)
  if node.exp == NEVER then return false end
  return node.exp <= now()
end

-- free up to `n` expired items from the LRU tail (nginx does this on every store)
local function expire_tail(z, n)
  local node = z.head.prev
  local t
  while n > 0 and node ~= z.head do
    local prev = node.prev
    if node.exp == NEVER then return end
    t = clock(t)
    if node.exp > t then return end
    remove(z, node)
    n = n - 1
    node = prev
  end
end

-- make room for `size` more bytes; forcible eviction of LRU items unless `safe`
local function reserve(z, size, safe)
  if z.used + size <= z.capacity then return true, false end
  if safe then return false, false end
  local evicted = 0
  while z.used + size > z.capacity do
    local tail = z.head.prev
    if tail == z.head or evicted >= MAX_EVICTIONS then return false, evicted > 0 end
    remove(z, tail)
    evicted = evicted + 1
  end
  return true, evicted > 0
end

local function zone_of(self, level)
  local z = ZONES[self]
  if z == nil then error('bad "zone" argument', level + 1) end
  return z
end

local function check_key(key)
  if key == nil then return nil, "nil key" end
  if type(key) ~= "string" then key = tostring(key) end
  local n = #key
  if n == 0 then return nil, "empty key" end
  if n > 65535 then return nil, "key too long" end
  return key
end

local function expiry(exptime)
  if exptime == nil or exptime == 0 then return NEVER end
  return now() + floor(exptime * 1000) / 1000
end

---------------------------------------------------------------------------------
-- storing: set / safe_set / add / safe_add / replace / delete
---------------------------------------------------------------------------------
local OP_SET, OP_ADD, OP_REPLACE = 0, 1, 2

-- (tail-called by the public methods: level 2 is the plugin's code)
local function store(self, op, safe, key, value, exptime, flags)
  local z = zone_of(self, 2)
  if exptime == nil then
    exptime = 0
  elseif type(exptime) ~= "number" or exptime < 0 then
    error('bad "exptime" argument', 2)
  end
  local err
  key, err = check_key(key)
  if not key then return nil, err end
  local vt = type(value)
  if vt ~= "string" and vt ~= "number" and vt ~= "boolean" and value ~= nil then
    return nil, "bad value type"
  end
  expire_tail(z, 2)
  local node = z.map[key]
  if node ~= nil and is_expired(node) then
    remove(z, node)
    node = nil
  end
  if op == OP_ADD and node ~= nil then return false, "exists", false end
  if op == OP_REPLACE and node == nil then return false, "not found", false end
  if node ~= nil then remove(z, node) end
  if value == nil then return true, nil, false end
  local size = ITEM_OVERHEAD + #key + value_size(value)
  local ok, forcible = reserve(z, size, safe)
  if not ok then return false, "no memory", forcible end
  node = { key = key, value = value, flags = flags or 0, exp = expiry(exptime), size = size }
  z.map[key] = node
  z.used = z.used + size
  push_head(z, node)
  return true, nil, forcible
end

local DICT = {}

function DICT.set(self, key, value, exptime, flags) return store(self, OP_SET, false, key, value, exptime, flags) end
function DICT.safe_set(self, key, value, exptime, flags) return store(self, OP_SET, true, key, value, exptime, flags) end
function DICT.add(self, key, value, exptime, flags) return store(self, OP_ADD, false, key, value, exptime, flags) end
function DICT.safe_add(self, key, value, exptime, flags) return store(self, OP_ADD, true, key, value, exptime, flags) end
function DICT.replace(self, key, value, exptime, flags) return store(self, OP_REPLACE, false, key, value, exptime, flags) end
function DICT.delete(self, key) return store(self, OP_SET, false, key, nil) end

---------------------------------------------------------------------------------
-- reading
---------------------------------------------------------------------------------
function DICT.get(self, key)
  local z = zone_of(self, 2)
  local err
  key, err = check_key(key)
  if not key then return nil, err end
  local node = z.map[key]
  if node == nil or is_expired(node) then return nil end
  if node.list then return nil, "value is a list" end
  touch(z, node)
  if node.flags ~= 0 then return node.value, node.flags end
  return node.value
end

function DICT.get_stale(self, key)
  local z = zone_of(self, 2)
  local err
  key, err = check_key(key)
  if not key then return nil, err end
  local node = z.map[key]
  if node == nil then return nil end
  if node.list then return nil, "value is a list" end
  local flags = node.flags ~= 0 and node.flags or nil
  return node.value, flags, is_expired(node)
end

function DICT.incr(self, key, value, init, init_ttl)
  local z = zone_of(self, 2)
  local err
  key, err = check_key(key)
  if not key then return nil, err end
  if type(value) ~= "number" then
    local n = tonumber(value)
    if n == nil then error("cannot convert '" .. tostring(value) .. "' to 'double'", 2) end
    value = n
  end
  if init ~= nil and type(init) ~= "number" then
    local n = tonumber(init)
    if n == nil then error("bad init arg: number expected, got " .. type(init), 2) end
    init = n
  end
  if init_ttl ~= nil then
    if type(init_ttl) ~= "number" then
      local n = tonumber(init_ttl)
      if n == nil then error("bad init_ttl arg: number expected, got " .. type(init_ttl), 2) end
      init_ttl = n
    end
    if init_ttl < 0 then error('bad "init_ttl" argument', 2) end
    if not init then error('must provide "init" when providing "init_ttl"', 2) end
  end
  local node = z.map[key]
  if node ~= nil and not is_expired(node) then
    if node.list or type(node.value) ~= "number" then return nil, "not a number" end
    node.value = node.value + value
    touch(z, node)
    if init == nil then return node.value end
    return node.value, nil, false
  end
  if init == nil then return nil, "not found" end
  if node ~= nil then remove(z, node) end
  expire_tail(z, 2)
  local size = ITEM_OVERHEAD + #key + 8
  local ok, forcible = reserve(z, size, false)
  if not ok then return nil, "no memory" end
  node = { key = key, value = init + value, flags = 0, exp = expiry(init_ttl), size = size }
  z.map[key] = node
  z.used = z.used + size
  push_head(z, node)
  return node.value, nil, forcible
end

function DICT.ttl(self, key)
  local z = zone_of(self, 2)
  local err
  key, err = check_key(key)
  if not key then return nil, err end
  local node = z.map[key]
  if node == nil then return nil, "not found" end
  if node.exp == NEVER then return 0 end
  local left = node.exp - now()
  if left <= 0 then return nil, "not found" end
  return floor(left * 1000 + 0.5) / 1000
end

function DICT.expire(self, key, exptime)
  local z = zone_of(self, 2)
  if exptime == nil or type(exptime) ~= "number" or exptime < 0 then
    error('bad "exptime" argument', 2)
  end
  local err
  key, err = check_key(key)
  if not key then return nil, err end
  local node = z.map[key]
  if node == nil or is_expired(node) then return nil, "not found" end
  node.exp = expiry(exptime)
  return true
end

function DICT.flush_all(self)
  local z = zone_of(self, 2)
  for _, node in pairs(z.map) do node.exp = 1 end   -- expired long ago; get_stale still sees it
end

function DICT.flush_expired(self, max_count)
  local z = zone_of(self, 2)
  local limit = (max_count and max_count > 0) and max_count or nil
  local t, n = now(), 0
  for _, node in pairs(z.map) do
    if expired(node, t) then
      remove(z, node)
      n = n + 1
      if limit and n >= limit then break end
    end
  end
  return n
end

function DICT.get_keys(self, max_count)
  local z = zone_of(self, 2)
  if max_count == nil then max_count = 1024 end
  local keys, n, t = {}, 0, nil
  local node = z.head.next
  while node ~= z.head do
    local live = node.exp == NEVER
    if not live then
      t = clock(t)
      live = node.exp > t
    end
    if live then
      n = n + 1
      keys[n] = node.key
      if max_count > 0 and n >= max_count then break end
    end
    node = node.next
  end
  return keys
end

function DICT.capacity(self) return zone_of(self, 2).capacity end

function DICT.free_space(self)
  local z = zone_of(self, 2)
  local free = z.capacity - z.used
  return free > 0 and free or 0
end

---------------------------------------------------------------------------------
-- lists: lpush / rpush / lpop / rpop / llen
---------------------------------------------------------------------------------
local function list_node(self, key, create)
  local z = zone_of(self, 3)
  local err
  key, err = check_key(key)
  if not key then return nil, err end
  local node = z.map[key]
  if node ~= nil and is_expired(node) then
    remove(z, node)
    node = nil
  end
  if node ~= nil and not node.list then return nil, "value not a list" end
  if node == nil and not create then return nil, nil end
  if node == nil then
    expire_tail(z, 2)
    local size = ITEM_OVERHEAD + #key
    local ok = reserve(z, size, false)
    if not ok then return nil, "no memory" end
    node = { key = key, list = true, first = 1, last = 0, flags = 0, exp = NEVER, size = size }
    z.map[key] = node
    z.used = z.used + size
    push_head(z, node)
  end
  return node, z
end

local function push(self, key, value, left)
  local vt = type(value)
  if vt ~= "string" and vt ~= "number" then
    zone_of(self, 2)
    local k, err = check_key(key)
    if not k then return nil, err end
    return nil, "bad value type"
  end
  local node, z = list_node(self, key, true)
  if node == nil then return nil, z end
  local size = LIST_ITEM_OVERHEAD + value_size(value)
  if z.used + size > z.capacity then
    unlink(node)   -- never evict the list being pushed to
    local ok = reserve(z, size, false)
    push_head(z, node)
    if not ok then
      if node.last < node.first then remove(z, node) end
      return nil, "no memory"
    end
  end
  if left then
    node.first = node.first - 1
    node[node.first] = value
  else
    node.last = node.last + 1
    node[node.last] = value
  end
  node.size = node.size + size
  z.used = z.used + size
  touch(z, node)
  return node.last - node.first + 1
end

local function pop(self, key, left)
  local node, z = list_node(self, key, false)
  if node == nil then return nil, z end
  local i = left and node.first or node.last
  local value = node[i]
  node[i] = nil
  if left then node.first = i + 1 else node.last = i - 1 end
  local size = LIST_ITEM_OVERHEAD + value_size(value)
  node.size = node.size - size
  z.used = z.used - size
  if node.last < node.first then remove(z, node) end
  return value
end

function DICT.lpush(self, key, value) return push(self, key, value, true) end
function DICT.rpush(self, key, value) return push(self, key, value, false) end
function DICT.lpop(self, key) return pop(self, key, true) end
function DICT.rpop(self, key) return pop(self, key, false) end

function DICT.llen(self, key)
  local node, z = list_node(self, key, false)
  if node == nil then
    if z then return nil, z end
    return 0
  end
  return node.last - node.first + 1
end

---------------------------------------------------------------------------------
-- ngx.shared: dictionaries by name, created on first use
---------------------------------------------------------------------------------
local function read_only() error("ngx.shared dictionaries cannot be modified", 2) end
local DICT_MT = { __index = DICT, __newindex = read_only, __metatable = false }

local default_size = B.default_size()
local shared = {}

local function new_dict(name, capacity)
  local dict = setmetatable({}, DICT_MT)
  ZONES[dict] = new_zone(name, capacity)
  rawset(shared, name, dict)
  return dict
end

for name, size in pairs(B.zones()) do new_dict(name, size) end

setmetatable(shared, {
  __index = function(_, name)
    if type(name) ~= "string" or name == "" then return nil end
    return new_dict(name, default_size)
  end,
  __newindex = read_only,
  __metatable = false,
})

return { shared = shared }

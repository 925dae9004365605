-- `resty.lrucache`: a per-worker LRU cache with optional TTLs (OpenResty's
-- lua-resty-lrucache API).
--
--   local cache, err = lrucache.new(200)      -- nil, "size too small" when < 1
--   cache:set(key, value, ttl?, flags?)       -- ttl in seconds (fractions ok)
--   local v, stale, flags = cache:get(key)    -- expired: nil, stale value, flags
--   cache:delete(key); cache:count(); cache:capacity()
--   cache:get_keys(max?, res?)                -- most recently used first
--   cache:flush_all()
--
-- Each cache holds at most `size` keys; setting a new key in a full cache evicts
-- the least recently used one.  get and set make a key the most recently used;
-- an expired item stays (counted) until it is evicted, deleted or set again.
-- Time is ngx.now().  Implemented as a doubly linked list of node tables.
local _, H = ...
local type, setmetatable = type, setmetatable
local new_tab, clear_tab = H.require("table.new"), H.require("table.clear")

local ngx = H.ngx or {}
local now = ngx.now or H.require("kong.tools.time").get_updated_now

local _M = { _VERSION = "0.14" }
local mt = { __index = _M }

-- the list head is a sentinel node: head.next is the most recently used node
local function unlink(node)
  node.prev.next = node.next
  node.next.prev = node.prev
end

local function push_front(head, node)
  node.next = head.next
  node.prev = head
  head.next.prev = node
  head.next = node
end

--- A cache for at most `size` items; nil, "size too small" when size < 1.
function _M.new(size)
  if size < 1 then
    return nil, "size too small"
  end
  local head = {}
  head.next, head.prev = head, head
  return setmetatable({
    head = head,          -- sentinel of the usage list
    nodes = {},           -- key -> node {key, value, expire, flags, prev, next}
    num_items = 0,
    max_items = size,
  }, mt)
end

--- Number of items held (expired ones included).
function _M.count(self)
  return self.num_items
end

--- The size given to new().
function _M.capacity(self)
  return self.max_items
end

--- value, nil, flags; or nil, stale value, flags when expired; nil when absent.
function _M.get(self, key)
  local node = self.nodes[key]
  if node == nil or node.value == nil then
    return nil
  end
  unlink(node)
  push_front(self.head, node)
  local expire = node.expire
  if expire >= 0 and expire < now() then
    return nil, node.value, node.flags
  end
  return node.value, nil, node.flags
end

--- Remove `key`; true when it was there.
function _M.delete(self, key)
  local node = self.nodes[key]
  if node == nil then
    return false
  end
  self.nodes[key] = nil
  unlink(node)
  self.num_items = self.num_items - 1
  return true
end

--- Store `value` under `key` (never expiring without `ttl`); `flags` is a number
--- returned by get (default 0).
function _M.set(self, key, value, ttl, flags)
  local nodes = self.nodes
  local node = nodes[key]
  if node == nil then
    if self.num_items >= self.max_items then
      node = self.head.prev            -- evict the least recently used item
      nodes[node.key] = nil
    else
      node = {}
      self.num_items = self.num_items + 1
    end
    node.key = key
    nodes[key] = node
  end
  if node.prev then unlink(node) end
  push_front(self.head, node)
  node.value = value
  node.expire = ttl and now() + ttl or -1
  node.flags = (type(flags) == "number" and flags >= 0) and flags or 0
end

--- The keys, most recently used first, at most `max_count` (nil or 0: all);
--- written into `res` (followed by a nil) when given.
function _M.get_keys(self, max_count, res)
  if not max_count or max_count == 0 then
    max_count = self.num_items
  end
  res = res or new_tab(max_count + 1, 0)
  local head, i = self.head, 0
  local node = head.next
  while node ~= head and i < max_count do
    i = i + 1
    res[i] = node.key
    node = node.next
  end
  res[i + 1] = nil
  return res
end

--- Remove every item.
function _M.flush_all(self)
  clear_tab(self.nodes)
  local head = self.head
  head.next, head.prev = head, head
  self.num_items = 0
end

return _M

-- rate-limiting's counters: `local` (this worker's ngx.shared.kong_rate_limiting_counters)
-- and `redis` (one EVALSHA per request for every window, through resty.redis).
--
-- Both policies check and count in one atomic step: the usage of every configured
-- window is read, and only when no window is exhausted is the request counted in all
-- of them.  So a rejected request is not counted (as with Kong's local policy) and two
-- gateways sharing a Redis let exactly `limit` requests through.  Counter keys are
-- Kong's: "ratelimit:<route_id>:<service_id>:<identifier>:<window start ms>:<period>".
--
-- check(conf, identifier, periods, now_ms) -> used (array, one number per period, the
-- usage before this request), blocked (boolean); or nil, err when the store failed.
-- `periods` is an array of { name = "minute", limit = 10 }.
local timestamp = require "kong.tools.timestamp"
local redis = require "resty.redis"
local sha1 = require "resty.sha1"
local to_hex = require("resty.string").to_hex

local kong = kong
local null = ngx.null
local fmt = string.format
local tonumber = tonumber
local get_timestamps = timestamp.get_timestamps

local EMPTY_UUID = "00000000-0000-0000-0000-000000000000"

-- window lengths in seconds (Kong's expiration table)
local EXPIRATION = {
  second = 1, minute = 60, hour = 3600, day = 86400, month = 2592000, year = 31536000,
}

local function key_prefix(conf, identifier)
  local route_id, service_id = conf.route_id, conf.service_id
  if not route_id or route_id == null then route_id = EMPTY_UUID end
  if not service_id or service_id == null then service_id = EMPTY_UUID end
  return fmt("ratelimit:%s:%s:%s:", route_id, service_id, identifier)
end

local function counter_key(prefix, start_ms, period)
  return fmt("%s%d:%s", prefix, start_ms, period)
end

-- sliding window: the share of the previous window still inside the sliding one
local function previous_weight(now_ms, start_ms, period)
  local weight = 1 - (now_ms - start_ms) / (EXPIRATION[period] * 1000)
  return weight > 0 and weight or 0
end

---------------------------------------------------------------------------------
-- local: this worker's shared dict (no yield between the reads and the increments)
---------------------------------------------------------------------------------
local function local_check(conf, identifier, periods, now_ms)
  local shm = ngx.shared.kong_rate_limiting_counters
  local sliding = conf.strategy == "sliding_window"
  local stamps = get_timestamps(now_ms)
  local prefix = key_prefix(conf, identifier)
  local used, keys, blocked = {}, {}, false
  for i = 1, #periods do
    local p = periods[i]
    local start = stamps[p.name]
    local key = counter_key(prefix, start, p.name)
    local count = shm:get(key) or 0
    if sliding then
      local prev_start = get_timestamps(start - 1)[p.name]
      local prev = shm:get(counter_key(prefix, prev_start, p.name)) or 0
      count = count + prev * previous_weight(now_ms, start, p.name)
    end
    used[i], keys[i] = count, key
    if count >= p.limit then blocked = true end
  end
  if not blocked then
    local ttl_factor = sliding and 2 or 1
    for i = 1, #periods do
      local name = periods[i].name
      local ok, err = shm:incr(keys[i], 1, 0, EXPIRATION[name] * ttl_factor)
      if not ok then
        kong.log.err("could not increment counter for period '", name, "': ", err)
      end
    end
  end
  return used, blocked
end

---------------------------------------------------------------------------------
-- redis: KEYS = the current window of each period (then, sliding, the previous ones);
-- ARGV = count, sliding flag, then limit, ttl, previous weight per period
---------------------------------------------------------------------------------
local SCRIPT = [[
local n, sliding = tonumber(ARGV[1]), ARGV[2] == "1"
local out, blocked = {}, false
for i = 1, n do
  local at = 3 + (i - 1) * 3
  local count = tonumber(redis.call("get", KEYS[i]) or "0")
  if sliding then
    count = count + tonumber(redis.call("get", KEYS[n + i]) or "0") * tonumber(ARGV[at + 2])
  end
  out[i] = tostring(count)
  if count >= tonumber(ARGV[at]) then blocked = true end
end
if not blocked then
  for i = 1, n do
    if redis.call("incr", KEYS[i]) == 1 then
      redis.call("expire", KEYS[i], ARGV[3 + (i - 1) * 3 + 1])
    end
  end
end
out[n + 1] = blocked and "1" or "0"
return out
]]

local SCRIPT_SHA
do
  local digest = sha1:new()
  digest:update(SCRIPT)
  SCRIPT_SHA = to_hex(digest:final())
end

local sock_opts = {}

local function present(s)
  return s ~= nil and s ~= null and s ~= ""
end

-- a pooled connection, authenticated and on the right database (Kong's way)
local function connect(rc)
  local red = redis:new()
  red:set_timeout(rc.timeout)
  sock_opts.ssl = rc.ssl
  sock_opts.ssl_verify = rc.ssl_verify
  sock_opts.server_name = rc.server_name ~= null and rc.server_name or nil
  sock_opts.pool = rc.database ~= 0 and fmt("%s:%d;%d", rc.host, rc.port, rc.database) or nil
  local ok, err = red:connect(rc.host, rc.port, sock_opts)
  if not ok then
    return nil, "failed to connect to Redis: " .. tostring(err)
  end
  local times
  times, err = red:get_reused_times()
  if not times then
    return nil, "failed to get connect reused times: " .. tostring(err)
  end
  if times == 0 then
    if present(rc.password) then
      if present(rc.username) then
        ok, err = red:auth(rc.username, rc.password)
      else
        ok, err = red:auth(rc.password)
      end
      if not ok then
        red:close()
        return nil, "failed to auth Redis: " .. tostring(err)
      end
    end
    if rc.database ~= 0 then
      ok, err = red:select(rc.database)
      if not ok then
        red:close()
        return nil, "failed to change Redis database: " .. tostring(err)
      end
    end
  end
  return red
end

local function redis_check(conf, identifier, periods, now_ms)
  local rc = conf.redis
  local red, err = connect(rc)
  if not red then return nil, err end

  local sliding = conf.strategy == "sliding_window"
  local stamps = get_timestamps(now_ms)
  local prefix = key_prefix(conf, identifier)
  local n = #periods
  local args = { SCRIPT_SHA, sliding and 2 * n or n }
  local argv = { n, sliding and "1" or "0" }
  for i = 1, n do
    local p = periods[i]
    local start = stamps[p.name]
    args[2 + i] = counter_key(prefix, start, p.name)
    if sliding then
      args[2 + n + i] = counter_key(prefix, get_timestamps(start - 1)[p.name], p.name)
    end
    local at = #argv
    argv[at + 1] = p.limit
    argv[at + 2] = EXPIRATION[p.name] * (sliding and 2 or 1)
    argv[at + 3] = sliding and fmt("%.6f", previous_weight(now_ms, start, p.name)) or 0
  end
  local nargs = #args
  for i = 1, #argv do args[nargs + i] = argv[i] end

  local res
  res, err = red:evalsha(unpack(args))
  if not res and type(err) == "string" and err:find("NOSCRIPT", 1, true) then
    args[1] = SCRIPT
    res, err = red:eval(unpack(args))
  end
  if not res then
    red:close()
    return nil, "failed to run the rate-limiting script in Redis: " .. tostring(err)
  end
  local ok, kerr = red:set_keepalive(10000, 100)
  if not ok then
    kong.log.err("failed to set Redis keepalive: ", kerr)
  end
  local used = {}
  for i = 1, n do used[i] = tonumber(res[i]) or 0 end
  return used, res[n + 1] == "1"
end

return {
  EXPIRATION = EXPIRATION,
  ["local"] = { check = local_check },
  redis = { check = redis_check },
}

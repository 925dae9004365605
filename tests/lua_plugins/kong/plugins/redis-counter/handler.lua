-- Counts requests per client in Redis with resty.redis, the way Kong's rate-limiting
-- "redis" policy talks to Redis: a named pool per database, auth/select only on a
-- fresh connection, a pipeline, then set_keepalive.
local redis = require "resty.redis"
local kong = kong
local ngx = ngx
local tostring = tostring

local RedisCounter = {
  PRIORITY = 901,
  VERSION = "1.0.0",
}

local function fail(stage, err)
  kong.log.err("redis ", stage, " failed: ", err)
  return kong.response.exit(503, { message = "redis " .. stage .. ": " .. tostring(err) })
end

function RedisCounter:access(conf)
  local red = redis:new()
  red:set_timeout(conf.timeout)
  local pool = conf.host .. ":" .. conf.port .. ";" .. conf.database
  local ok, err = red:connect(conf.host, conf.port, { pool = pool })
  if not ok then return fail("connect", err) end

  local reused = red:get_reused_times()
  if reused == 0 then
    if conf.password then
      ok, err = red:auth(conf.password)
      if not ok then return fail("auth", err) end
    end
    if conf.database ~= 0 then
      ok, err = red:select(conf.database)
      if not ok then return fail("select", err) end
    end
  end

  local key = "count:" .. (kong.request.get_header("X-Client") or "anonymous")
  red:init_pipeline()
  red:incr(key)
  red:expire(key, conf.window)
  red:get(key)
  local results, perr = red:commit_pipeline()
  if not results then return fail("pipeline", perr) end

  red:set("not-a-number", "abc")
  local _, reply_err = red:incr("not-a-number")
  local missing = red:get("missing:" .. key)
  local hash_ok = red:hmset("hash:" .. key, { seen = "yes" })
  local seen = red:hget("hash:" .. key, "seen")

  ok, err = red:set_keepalive(10000, 10)
  if not ok then return fail("keepalive", err) end

  kong.service.request.set_header("X-Count", results[1])
  kong.ctx.plugin.info = {
    count = results[1], expire = results[2], stored = results[3], reused = reused,
    missing_is_null = missing == ngx.null, reply_err = reply_err, hash = hash_ok .. "/" .. seen,
  }
end

function RedisCounter:header_filter(conf)
  local info = kong.ctx.plugin.info
  if info then
    kong.response.set_header("X-Count", info.count)
    kong.response.set_header("X-Expire", info.expire)
    kong.response.set_header("X-Stored", info.stored)
    kong.response.set_header("X-Reused", info.reused)
    kong.response.set_header("X-Missing-Null", tostring(info.missing_is_null))
    kong.response.set_header("X-Reply-Error", info.reply_err)
    kong.response.set_header("X-Hash", info.hash)
  end
end

return RedisCounter

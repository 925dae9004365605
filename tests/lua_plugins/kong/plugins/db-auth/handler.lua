-- db-auth: authenticates requests the way Kong's key-auth does, through kong.db and
-- kong.cache: the API key from a header is looked up with
-- kong.db.keyauth_credentials:select_by_key (cached under the DAO's cache key), the
-- consumer is loaded with kong.client.load_consumer (cached under the consumers'
-- cache key), kong.client.authenticate is called and the X-Consumer-* headers are set.
-- With `allow`, the consumer's groups are read like Kong's acl plugin does
-- (kong.db.acls:each_for_consumer, cached under kong.db.acls:cache_key(consumer id)).
--
-- For tests: every credential load is counted in ngx.shared.db_auth ("loads", shown
-- in the X-Credential-Loads response header); with `wait_for = n` the credential
-- loader keeps yielding until n requests are waiting for that key, so concurrent
-- misses can be observed.
local kong = kong
local ngx = ngx

local DbAuth = { PRIORITY = 1250, VERSION = "1.0.0" }

local counters = ngx.shared.db_auth
local MAX_SPINS = 200000

local function load_credential(key, wait_for)
  counters:incr("loads", 1, 0)
  local spins = 0
  while wait_for > 0 and (counters:get("arrived:" .. key) or 0) < wait_for and spins < MAX_SPINS do
    coroutine.yield()   -- let the other requests in (the host resumes us on its next turn)
    spins = spins + 1
  end
  local cred, err = kong.db.keyauth_credentials:select_by_key(key)
  if not cred then
    return nil, err
  end
  return cred
end

local function load_groups(consumer_id)
  local groups = {}
  for row, err in kong.db.acls:each_for_consumer({ id = consumer_id }) do
    if err then
      return nil, err
    end
    groups[#groups + 1] = row.group
  end
  return groups
end

local function set_consumer(consumer, credential)
  kong.client.authenticate(consumer, credential)
  local set_header = kong.service.request.set_header
  local clear_header = kong.service.request.clear_header
  if consumer.id then set_header("X-Consumer-ID", consumer.id) else clear_header("X-Consumer-ID") end
  if consumer.custom_id then
    set_header("X-Consumer-Custom-ID", consumer.custom_id)
  else
    clear_header("X-Consumer-Custom-ID")
  end
  if consumer.username then
    set_header("X-Consumer-Username", consumer.username)
  else
    clear_header("X-Consumer-Username")
  end
  set_header("X-Credential-Identifier", credential.id)
end

function DbAuth:access(conf)
  local key
  for _, name in ipairs(conf.key_names) do
    key = kong.request.get_header(name)
    if key then break end
  end
  if not key or key == "" then
    return kong.response.error(401, "No API key found in request", { ["WWW-Authenticate"] = "Key" })
  end

  counters:incr("arrived:" .. key, 1, 0)
  local cache_key = kong.db.keyauth_credentials:cache_key(key)
  local credential, err, hit_level = kong.cache:get(cache_key, nil, load_credential, key, conf.wait_for)
  if err then
    return error(err)
  end
  kong.ctx.plugin.hit_level = hit_level
  if not credential then
    return kong.response.error(401, "Unauthorized", { ["WWW-Authenticate"] = "Key" })
  end

  local consumer_cache_key = kong.db.consumers:cache_key(credential.consumer.id)
  local consumer
  consumer, err = kong.cache:get(consumer_cache_key, nil, kong.client.load_consumer,
                                 credential.consumer.id, true)
  if err then
    kong.log.err(err)
    return kong.response.error(500, "An unexpected error occurred")
  end

  if conf.allow then
    local groups
    groups, err = kong.cache:get(kong.db.acls:cache_key(consumer.id), nil, load_groups, consumer.id)
    if err then
      return error(err)
    end
    local allowed = false
    for _, group in ipairs(groups) do
      for _, wanted in ipairs(conf.allow) do
        if group == wanted then allowed = true end
      end
    end
    if not allowed then
      return kong.response.error(403, "You cannot consume this service")
    end
    kong.service.request.set_header("X-Consumer-Groups", table.concat(groups, ", "))
  end

  set_consumer(consumer, credential)
end

function DbAuth:header_filter(conf)
  kong.response.set_header("X-Credential-Loads", tostring(counters:get("loads") or 0))
  if kong.ctx.plugin.hit_level then
    kong.response.set_header("X-Cache-Hit-Level", tostring(kong.ctx.plugin.hit_level))
  end
end

return DbAuth

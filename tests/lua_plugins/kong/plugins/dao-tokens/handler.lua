-- dao-tokens: authenticates requests with a token of the plugin's own entity (daos.lua),
-- the way Kong's key-auth does with its credentials:
--   * the token (header conf.header_name) is looked up with
--     kong.db.dao_tokens:select_by_token, cached in kong.cache under
--     kong.db.dao_tokens:cache_key(token);
--   * its consumer is loaded with kong.client.load_consumer, cached under
--     kong.db.consumers:cache_key(id);
--   * kong.client.authenticate(consumer, token) is called, and the upstream request gets
--     X-Consumer-Username, X-Token-Scope and X-Token-Hit-Level (kong.cache's hit level of
--     the token lookup: 3 when the loader ran, 1 when the cache answered); the token
--     header itself is not forwarded.
-- No token, or an unknown one: 401 {"message":"Unauthorized"}.
local kong = kong

local DaoTokens = { PRIORITY = 1240, VERSION = "1.0.0" }

local function unauthorized()
  return kong.response.exit(401, { message = "Unauthorized" })
end

local function load_token(token)
  local row, err = kong.db.dao_tokens:select_by_token(token)
  if err then
    return nil, err
  end
  return row
end

function DaoTokens:access(conf)
  local token = kong.request.get_header(conf.header_name)
  if not token or token == "" then
    return unauthorized()
  end

  local row, err, hit_level = kong.cache:get(kong.db.dao_tokens:cache_key(token), nil, load_token, token)
  if err then
    return error(err)
  end
  if not row then
    return unauthorized()
  end

  local consumer_id = row.consumer.id
  local consumer
  consumer, err = kong.cache:get(kong.db.consumers:cache_key(consumer_id), nil,
                                 kong.client.load_consumer, consumer_id)
  if err then
    return error(err)
  end
  if not consumer then
    return unauthorized()
  end

  kong.client.authenticate(consumer, row)
  local set_header = kong.service.request.set_header
  if consumer.username then
    set_header("X-Consumer-Username", consumer.username)
  end
  set_header("X-Token-Scope", row.scope)
  set_header("X-Token-Hit-Level", hit_level)
  kong.service.request.clear_header(conf.header_name)
end

return DaoTokens

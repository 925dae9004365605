-- token-auth: "Authorization: Bearer <token>", looked up in the auth_tokens entity.
local kong = kong

local TokenAuth = { PRIORITY = 1250, VERSION = "1.0.0" }

-- kong.cache's loader: the token's row, or nil (cached as a miss)
local function load_token(token)
  local row, err = kong.db.auth_tokens:select_by_token(token)
  return row, err
end

local function includes(set, value)
  for _, item in ipairs(set) do
    if item == value then
      return true
    end
  end
  return false
end

function TokenAuth:access(conf)
  local token = (kong.request.get_header("Authorization") or ""):match("^Bearer (.+)$")
  if not token then
    return kong.response.exit(401, { message = "Unauthorized" })
  end
  local row, err = kong.cache:get(kong.db.auth_tokens:cache_key(token), nil, load_token, token)
  if err then
    return error(err)
  end
  if not row then
    return kong.response.exit(401, { message = "Unauthorized" })
  end
  if not includes(row.scopes, conf.scope) then
    return kong.response.exit(403, { message = "Forbidden" })
  end
  local consumer = kong.client.load_consumer(row.consumer.id)
  kong.client.authenticate(consumer, row)
  kong.service.request.set_header("X-Consumer-Username", consumer.username)
end

return TokenAuth

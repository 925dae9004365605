-- auth-refs: authenticates like an auth plugin (credential from kong.db, consumer from
-- kong.client.load_consumer) and reports what kong.client.get_consumer() returns.
--
-- * `change`: the plugin changes the loaded consumer's username before authenticating
--   (every later plugin must see the changed table);
-- * `bad`: calls kong.client.authenticate with a string (a Lua error in the plugin);
-- * response headers: X-Same-Table (get_consumer() returns the very table given to
--   authenticate), X-Lua-Consumer (the username get_consumer() shows in header_filter,
--   after the other plugins ran);
-- * log: a line with what kong.log.serialize() holds (consumer, authenticated entity,
--   route).
local kong = kong

local AuthRefs = { PRIORITY = 1300, VERSION = "1.0.0" }

function AuthRefs:access(conf)
  if conf.bad then
    local ok, err = pcall(function() kong.client.authenticate("alice") end)
    return kong.response.exit(500, { message = tostring(err), ok = ok })
  end
  local key = kong.request.get_header("x-key")
  local credential = key and kong.db.keyauth_credentials:select_by_key(key)
  if not credential then
    return kong.response.exit(401, { message = "Unauthorized" })
  end
  local consumer = kong.client.load_consumer(credential.consumer.id)
  if conf.change then
    consumer.username = consumer.username .. "-changed"
  end
  kong.client.authenticate(consumer, credential)
  kong.response.set_header("X-Same-Table", tostring(kong.client.get_consumer() == consumer))
  kong.response.set_header("X-Same-Credential", tostring(kong.client.get_credential() == credential))
end

function AuthRefs:header_filter(conf)
  local consumer = kong.client.get_consumer()
  kong.response.set_header("X-Lua-Consumer", consumer and consumer.username or "none")
end

function AuthRefs:log(conf)
  -- what a Lua log plugin reads from the serializer (entities crossed as references)
  local e = kong.log.serialize()
  kong.log.notice("serialized consumer=", e.consumer and e.consumer.username or "-",
    " entity=", e.authenticated_entity and e.authenticated_entity.consumer_id or "-",
    " route_path=", e.route and e.route.paths and e.route.paths[1] or "-",
    " tags=", e.consumer and e.consumer.tags and table.concat(e.consumer.tags, ",") or "-")
end

return AuthRefs

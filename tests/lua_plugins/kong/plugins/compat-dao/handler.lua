-- compat-dao: finds the authenticated consumer's pass through the custom DAO methods
-- of its own entity (daos.lua, passes.lua), cached with kong.cache under the custom
-- cache key, and hands the upstream what it found.  Consumers without a pass get 403.
local kong = kong

local CompatDao = {
  PRIORITY = 900,
  VERSION = "1.0.0",
}

local function load_pass(consumer_id)
  local pass, err = kong.db.compat_dao_passes:select_by_consumer(consumer_id)
  if err then
    return nil, err
  end
  return pass
end

function CompatDao:access(conf)
  local consumer = kong.client.get_consumer()
  if not consumer then
    return kong.response.exit(401, { message = "no consumer" })
  end
  local passes = kong.db.compat_dao_passes
  local key = passes:cache_key(consumer.id)
  local pass, err = kong.cache:get(key, nil, load_pass, consumer.id)
  if err then
    return kong.response.exit(500, { message = err })
  end
  if not pass then
    return kong.response.exit(403, { message = "no pass for consumer" })
  end

  local set = kong.service.request.set_header
  set("X-Pass-Label", pass.label)
  set("X-Pass-Count", tostring(passes:count_for_consumer(consumer.id)))
  set("X-Pass-Key", key)
  set("X-Pass-Key-From-Entity", passes:cache_key(pass))
  local again = passes:select({ id = pass.id })
  set("X-Pass-Select", again and again.label or "none")
  local _, missing = passes:select({ id = "00000000-0000-4000-8000-000000000000" })
  set("X-Pass-Missing", missing or "none")
  local notes = kong.db.compat_dao_notes
  set("X-Notes-Custom", tostring(notes.select_by_consumer ~= nil))
  set("X-Notes-Count", tostring(#notes:page_for_consumer({ id = consumer.id })))
end

return CompatDao

-- db-reader: answers questions about the configuration through kong.db, so the same
-- plugin can be run at every trust level and its answers compared.
--
-- `?q=` picks the question; the answer is a 200 JSON body (kong.response.exit):
--   key     ?key=K  keyauth_credentials:select_by_key, then consumers:select of its consumer
--   note    ?name=N the plugin's own entity (daos.lua): reader_notes:select_by_name, and
--                   the custom DAO method names_for_consumer for its consumer
--   groups  ?user=U consumers:select_by_username, acls:each_for_consumer
--   all             each/page over consumers, services, routes, reader_notes
--   errors          what invalid keys and writes answer (Kong's DB-less errors)
--   cached  ?key=K  kong.cache:get under the credential's cache key (a loader counts)
-- Without `q`: the API key in the header conf.header_name authenticates the request
-- (kong.client.authenticate with the kong.db tables; unknown key: 401) and the request
-- goes on to the upstream with X-Reader-Consumer; header_filter reports the credential
-- (kong.client.get_credential) in X-Reader-Credential.
local kong = kong
local sort = table.sort

local DbReader = { PRIORITY = 1290, VERSION = "1.0.0" }

local loads = 0

local function arg(name)
  return kong.request.get_query_arg(name)
end

local function key_answer(key)
  local cred, err = kong.db.keyauth_credentials:select_by_key(key)
  if err then return { err = err } end
  if not cred then return { found = false } end
  local consumer = kong.db.consumers:select({ id = cred.consumer.id })
  return { found = true, credential = cred.id, username = consumer and consumer.username,
           cache_key = kong.db.keyauth_credentials:cache_key(key) }
end

local function note_answer(name)
  local note, err = kong.db.reader_notes:select_by_name(name)
  if err then return { err = err } end
  if not note then return { found = false } end
  local names = kong.db.reader_notes:names_for_consumer(note.consumer.id)
  return { found = true, text = note.text, consumer_notes = names }
end

local function groups_answer(user)
  local consumer = kong.db.consumers:select_by_username(user)
  if not consumer then return { found = false } end
  local groups = {}
  for row, err in kong.db.acls:each_for_consumer({ id = consumer.id }) do
    if err then return { err = err } end
    groups[#groups + 1] = row.group
  end
  sort(groups)
  return { found = true, id = consumer.id, groups = groups }
end

local function names(dao, field)
  local out = {}
  for row, err in dao:each() do
    if err then return { err = err } end
    out[#out + 1] = row[field] or "-"
  end
  sort(out)
  return out
end

local function all_answer()
  local first, _, _, offset = kong.db.services:page(1)
  return {
    consumers = names(kong.db.consumers, "username"),
    routes = names(kong.db.routes, "name"),
    notes = names(kong.db.reader_notes, "name"),
    services_page = #first,
    services_next = offset or "none",
  }
end

local function errors_answer()
  local _, select_err = kong.db.consumers:select({ id = "not-a-uuid" })
  local _, insert_err = kong.db.reader_notes:insert({ name = "x", text = "y" })
  local missing = kong.db.consumers:select({ id = "00000000-0000-0000-0000-0000000000ff" })
  return { select = select_err, insert = insert_err, missing = missing == nil }
end

local function load_key(key)
  loads = loads + 1
  return kong.db.keyauth_credentials:select_by_key(key)
end

local function cached_answer(key)
  local cred, err = kong.cache:get(kong.db.keyauth_credentials:cache_key(key), nil, load_key, key)
  if err then return { err = err } end
  return { credential = cred and cred.id or false, loads = loads }
end

local QUESTIONS = {
  key = function() return key_answer(arg("key")) end,
  note = function() return note_answer(arg("name")) end,
  groups = function() return groups_answer(arg("user")) end,
  all = all_answer,
  errors = errors_answer,
  cached = function() return cached_answer(arg("key")) end,
}

function DbReader:access(conf)
  local q = arg("q")
  if q then
    local question = QUESTIONS[q]
    if not question then return kong.response.exit(400, { message = "unknown question" }) end
    return kong.response.exit(200, question())
  end
  local key = kong.request.get_header(conf.header_name)
  local cred = key and kong.db.keyauth_credentials:select_by_key(key)
  if not cred then
    return kong.response.exit(401, { message = "Unauthorized" })
  end
  local consumer = kong.db.consumers:select({ id = cred.consumer.id })
  kong.client.authenticate(consumer, cred)
  kong.service.request.set_header("X-Reader-Consumer", consumer.username)
end

function DbReader:header_filter(conf)
  local credential = kong.client.get_credential()
  if credential then
    kong.response.set_header("X-Reader-Credential", credential.id)
  end
end

return DbReader

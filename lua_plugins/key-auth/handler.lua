-- key-auth (PRIORITY 1250): authenticates a request by an API key found in a header,
-- the query string or the body under one of `conf.key_names`, as Kong 3.x does.
--
-- * No key: 401 "No API key found in request"; a key given twice under one name:
--   401 "Duplicate API key found"; an unknown key: 401 "Unauthorized"; each with
--   `WWW-Authenticate: Key` (or `Key realm="<realm>"`).
-- * A known key: kong.client.authenticate(consumer, credential) and the upstream
--   headers X-Consumer-ID / -Custom-ID / -Username, X-Credential-Identifier (the
--   credential id); X-Anonymous-Consumer is removed.
-- * With `anonymous` ("logical OR"): a request another auth plugin already
--   authenticated passes untouched; a failed one continues as the anonymous consumer
--   (X-Anonymous-Consumer: true), or 500 when that consumer does not exist.
--
-- Lookups: the credential is read with kong.db.keyauth_credentials:select_by_key (an
-- index built once per configuration) behind kong.cache, keyed by the DAO's cache
-- key; a new configuration starts a new cache generation, so a removed key is refused
-- at once.  Timing: the key is never compared byte by byte with a stored secret; it is
-- hashed into a table lookup (LuaJIT interns strings, so equality is a pointer
-- compare), so the time taken does not depend on how many leading bytes match.
-- The key is never logged nor put in an error message.
local constants = require "kong.constants"
local kong_meta = require "kong.meta"

local kong = kong
local type, ipairs, tostring, error = type, ipairs, tostring, error
local fmt, find, gsub, byte = string.format, string.find, string.gsub, string.byte

local HEADERS = constants.HEADERS
local H_CONSUMER_ID = HEADERS.CONSUMER_ID
local H_CUSTOM_ID = HEADERS.CONSUMER_CUSTOM_ID
local H_USERNAME = HEADERS.CONSUMER_USERNAME
local H_CREDENTIAL = HEADERS.CREDENTIAL_IDENTIFIER
local H_ANONYMOUS = HEADERS.ANONYMOUS

local ERR_DUPLICATE = "Duplicate API key found"
local ERR_NO_KEY = "No API key found in request"
local ERR_INVALID = "Unauthorized"
local ERR_BAD_CONF = "Invalid plugin configuration"
local ERR_UNEXPECTED = "An unexpected error occurred"

local EMPTY = {}

local KeyAuthHandler = {
  PRIORITY = 1250,
  VERSION = kong_meta.version,
}

-- Header values come from configuration (consumer username, custom_id): control
-- characters are percent-encoded as OpenResty does, so a value can never end the
-- header line and start another one.
local UNSAFE = "[%z\1-\8\10-\31\127]"
local function header_value(v)
  v = tostring(v)
  if find(v, UNSAFE) then
    v = gsub(v, UNSAFE, function(c) return fmt("%%%02X", byte(c)) end)
  end
  return v
end

local function load_credential(key)
  local credential, err = kong.db.keyauth_credentials:select_by_key(key)
  if not credential then
    return nil, err
  end
  if credential.ttl == 0 then
    kong.log.debug("key expired")
    return nil
  end
  return credential, nil, credential.ttl
end

local function set_consumer(consumer, credential)
  kong.client.authenticate(consumer, credential)
  local set_header = kong.service.request.set_header
  local clear_header = kong.service.request.clear_header
  if consumer and consumer.id then
    set_header(H_CONSUMER_ID, header_value(consumer.id))
  else
    clear_header(H_CONSUMER_ID)
  end
  if consumer and consumer.custom_id then
    set_header(H_CUSTOM_ID, header_value(consumer.custom_id))
  else
    clear_header(H_CUSTOM_ID)
  end
  if consumer and consumer.username then
    set_header(H_USERNAME, header_value(consumer.username))
  else
    clear_header(H_USERNAME)
  end
  if credential and credential.id then
    set_header(H_CREDENTIAL, header_value(credential.id))
  else
    clear_header(H_CREDENTIAL)
  end
  if credential then
    clear_header(H_ANONYMOUS)
  else
    set_header(H_ANONYMOUS, "true")
  end
end

local function read_body()
  local body, err = kong.request.get_body()
  if type(body) ~= "table" then
    kong.log.info("Cannot process request body: ", err)
    return EMPTY
  end
  return body
end

local function failure(status, message, challenge)
  local headers = challenge and { ["WWW-Authenticate"] = challenge } or nil
  return { status = status, message = message, headers = headers }
end

-- hide the key found under `name` from the upstream (header, query and, when the
-- body is searched, the body)
local function hide(conf, name, body)
  local service_request = kong.service.request
  service_request.clear_query_arg(name)
  service_request.clear_header(name)
  if conf.key_in_body then
    body = body or read_body()
    if body ~= EMPTY then
      body[name] = nil
      service_request.set_body(body)
    end
  end
end

-- the key of the request: key, nil | nil, failure
local function find_key(conf, challenge)
  local headers = conf.key_in_header and kong.request.get_headers() or EMPTY
  local query, body
  for _, name in ipairs(conf.key_names) do
    local v = headers[name]
    if v == nil and conf.key_in_query then
      query = query or kong.request.get_query()
      v = query[name]
    end
    if v == nil and conf.key_in_body then
      body = body or read_body()
      v = body[name]
    end
    if type(v) == "string" then
      if conf.hide_credentials then
        hide(conf, name, body)
      end
      return v
    elseif type(v) == "table" then
      return nil, failure(401, ERR_DUPLICATE, challenge)
    end
  end
  return nil, failure(401, ERR_NO_KEY, challenge)
end

local function authenticate(conf)
  if type(conf.key_names) ~= "table" then
    kong.log.err("no conf.key_names set, aborting plugin execution")
    return nil, failure(500, ERR_BAD_CONF)
  end
  local challenge = conf.realm and fmt('Key realm="%s"', conf.realm) or "Key"
  local key, fail = find_key(conf, challenge)
  if not key then
    return nil, fail
  end
  if key == "" then
    return nil, failure(401, ERR_NO_KEY, challenge)
  end

  local cache = kong.cache
  local credential, err, hit_level = cache:get(kong.db.keyauth_credentials:cache_key(key),
                                               { resurrect_ttl = 0.001 }, load_credential, key)
  if err then
    return error(err)
  end
  if not credential or hit_level == 4 then
    return nil, failure(401, ERR_INVALID, challenge)
  end

  local consumer_id = credential.consumer.id
  local consumer
  consumer, err = cache:get(kong.db.consumers:cache_key(consumer_id), nil,
                            kong.client.load_consumer, consumer_id)
  if err then
    kong.log.err(err)
    return nil, failure(500, ERR_UNEXPECTED)
  end
  set_consumer(consumer, credential)
  return true
end

local function use_anonymous(anonymous)
  local consumer, err = kong.cache:get(kong.db.consumers:cache_key(anonymous), nil,
                                       kong.client.load_consumer, anonymous, true)
  if err then
    return error(err)
  end
  if not consumer then
    local message = "anonymous consumer " .. anonymous .. " is configured but doesn't exist"
    kong.log.err(message)
    return kong.response.error(500, message)
  end
  set_consumer(consumer)
end

function KeyAuthHandler:access(conf)
  if not conf.run_on_preflight and kong.request.get_method() == "OPTIONS" then
    return
  end
  if conf.anonymous then
    -- logical OR: another auth plugin already identified the client
    if kong.client.get_credential() then
      return
    end
    if not authenticate(conf) then
      return use_anonymous(conf.anonymous)
    end
    return
  end
  local ok, fail = authenticate(conf)
  if not ok then
    return kong.response.error(fail.status, fail.message, fail.headers)
  end
end

return KeyAuthHandler

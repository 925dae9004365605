-- basic-auth (PRIORITY 1100): authenticates a request by `Authorization: Basic
-- base64(username:password)` (or Proxy-Authorization, tried first), as Kong 3.x does.
--
-- * No header, an unreadable one, an unknown username or a wrong password: 401
--   "Unauthorized" with `WWW-Authenticate: Basic realm="<realm>"`.
-- * Success: kong.client.authenticate(consumer, credential) and the upstream headers
--   X-Consumer-ID / -Custom-ID / -Username, X-Credential-Identifier (the credential's
--   username); with `hide_credentials` the header that carried the credentials is
--   removed.  With `anonymous`: Kong's "logical OR" (see key-auth).
--
-- Passwords are stored as sha1(password .. consumer_id) in hex (done when the
-- configuration is loaded); the given password is hashed the same way and the two
-- digests are compared in constant time.  An unknown username is hashed too (against
-- a dummy salt), so the answer takes as long as for a wrong password.  Credentials are
-- looked up with kong.db.basicauth_credentials:select_by_username (indexed) behind
-- kong.cache.  Neither the password nor its digest is ever logged.
local constants = require "kong.constants"
local kong_meta = require "kong.meta"
local sha1 = require "resty.sha1"
local to_hex = require("resty.string").to_hex

local kong = kong
local error, tostring = error, tostring
local fmt, find, gsub, byte, match = string.format, string.find, string.gsub, string.byte, string.match
local bor, bxor = bit.bor, bit.bxor
local decode_base64 = ngx.decode_base64

local HEADERS = constants.HEADERS
local H_CONSUMER_ID = HEADERS.CONSUMER_ID
local H_CUSTOM_ID = HEADERS.CONSUMER_CUSTOM_ID
local H_USERNAME = HEADERS.CONSUMER_USERNAME
local H_CREDENTIAL = HEADERS.CREDENTIAL_IDENTIFIER
local H_ANONYMOUS = HEADERS.ANONYMOUS

local DUMMY_SALT = "00000000-0000-0000-0000-000000000000"

local BasicAuthHandler = {
  PRIORITY = 1100,
  VERSION = kong_meta.version,
}

-- control characters percent-encoded (as OpenResty does): no header splitting
local UNSAFE = "[%z\1-\8\10-\31\127]"
local function header_value(v)
  v = tostring(v)
  if find(v, UNSAFE) then
    v = gsub(v, UNSAFE, function(c) return fmt("%%%02X", byte(c)) end)
  end
  return v
end

local function hash(consumer_id, password)
  local digest = sha1:new()
  digest:update(password .. consumer_id)
  return to_hex(digest:final())
end

-- equal strings, in a time that depends on the length only
local function constant_time_equal(a, b)
  if #a ~= #b then
    return false
  end
  local diff = 0
  for i = 1, #a do
    diff = bor(diff, bxor(byte(a, i), byte(b, i)))
  end
  return diff == 0
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
  if credential and credential.username then
    set_header(H_CREDENTIAL, header_value(credential.username))
  else
    clear_header(H_CREDENTIAL)
  end
  if credential then
    clear_header(H_ANONYMOUS)
  else
    set_header(H_ANONYMOUS, "true")
  end
end

-- username, password from one header value (nil when absent or unreadable); the
-- header is removed from the upstream request with `hide_credentials`
local function credentials_of(header_name, value, conf)
  local username, password
  if value then
    local encoded = match(value, "[Bb]asic%s*(.+)")
    local decoded = encoded and decode_base64(encoded)
    if decoded then
      username, password = match(decoded, "^([^:]+):(.*)$")
      if not username then
        kong.log.err("header has unrecognized format")
      end
    end
  end
  if conf.hide_credentials then
    kong.service.request.clear_header(header_name)
  end
  return username, password
end

local function load_credential(username)
  local credential, err = kong.db.basicauth_credentials:select_by_username(username)
  if err then
    return nil, err
  end
  return credential
end

local function lookup(username)
  local credential, err = kong.cache:get(kong.db.basicauth_credentials:cache_key(username), nil,
                                         load_credential, username)
  if err then
    return error(err)
  end
  return credential
end

local function authenticate(conf)
  local authorization = kong.request.get_header("authorization")
  local proxy_authorization = kong.request.get_header("proxy-authorization")
  if not (authorization or proxy_authorization) then
    return false
  end

  local credential
  local username, password = credentials_of("proxy-authorization", proxy_authorization, conf)
  if username and password then
    credential = lookup(username)
  end
  if not credential then
    username, password = credentials_of("authorization", authorization, conf)
    if not (username and password) then
      return false
    end
    credential = lookup(username)
  end

  local digest = hash(credential and credential.consumer.id or DUMMY_SALT, password)
  if not credential or not constant_time_equal(digest, tostring(credential.password)) then
    return false
  end

  local consumer_id = credential.consumer.id
  local consumer, err = kong.cache:get(kong.db.consumers:cache_key(consumer_id), nil,
                                       kong.client.load_consumer, consumer_id)
  if err then
    return error(err)
  end
  set_consumer(consumer, credential)
  return true
end

function BasicAuthHandler:access(conf)
  local anonymous = conf.anonymous
  if anonymous and kong.client.get_credential() then
    return   -- logical OR: another auth plugin already identified the client
  end
  if authenticate(conf) then
    return
  end
  if not anonymous then
    return kong.response.error(401, "Unauthorized",
                               { ["WWW-Authenticate"] = 'Basic realm="' .. conf.realm .. '"' })
  end
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

return BasicAuthHandler

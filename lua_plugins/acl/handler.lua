-- acl (PRIORITY 950): allows or refuses the authenticated client by group, as Kong 3.x.
--
-- Groups come from the consumer's `acls` credentials (kong.db.acls:each_for_consumer,
-- an index of the configuration, behind kong.cache under kong.db.acls:cache_key(id)),
-- or from kong.ctx.shared.authenticated_groups set by any auth plugin (Lua or
-- Python; ngx.ctx.authenticated_groups is read too): those are used when no consumer
-- was identified, when the consumer is the anonymous one (no credential), or always
-- with `always_use_authenticated_groups` (falling back to the consumer's groups).
--
-- * Not in an `allow` group / in a `deny` group: 403 "You cannot consume this service".
-- * No consumer and no authenticated groups: 401 "Unauthorized" (403 when a credential
--   without consumer was authenticated); a consumer without groups under `allow`:
--   the same.
-- * Allowed: X-Consumer-Groups (consumer's groups) or X-Authenticated-Groups
--   (authenticated groups), comma-separated, unless `hide_groups_header`.
-- Decisions are cached per config and group set (weak tables), so a request of a
-- known consumer costs one cache lookup.
local constants = require "kong.constants"
local kong_meta = require "kong.meta"

local kong = kong
local ngx = ngx
local type, error, setmetatable = type, error, setmetatable
local concat = table.concat
local fmt, find, gsub, byte = string.format, string.find, string.gsub, string.byte

local H_CONSUMER_GROUPS = constants.HEADERS.CONSUMER_GROUPS
local H_AUTHENTICATED_GROUPS = constants.HEADERS.AUTHENTICATED_GROUPS
local FORBIDDEN = "You cannot consume this service"

local EMPTY = {}
local WEAK_KEYS = { __mode = "k" }
local configs = setmetatable({}, WEAK_KEYS)       -- conf -> { deny, groups, decisions }
local group_sets = setmetatable({}, WEAK_KEYS)    -- cached acl rows -> set of names

local AclHandler = {
  PRIORITY = 950,
  VERSION = kong_meta.version,
}

local function config_of(conf)
  local config = configs[conf]
  if config == nil then
    local deny = conf.deny ~= nil and conf.deny[1] ~= nil
    config = {
      deny = deny,
      groups = deny and conf.deny or conf.allow or EMPTY,
      decisions = setmetatable({}, WEAK_KEYS),
    }
    configs[conf] = config
  end
  return config
end

-- the acl rows of a consumer (kong.cache loader)
local function load_rows(consumer_pk)
  local rows, n = {}, 0
  for row, err in kong.db.acls:each_for_consumer(consumer_pk) do
    if err then
      return nil, err
    end
    n = n + 1
    rows[n] = row
  end
  if n == 0 then
    return EMPTY
  end
  return rows
end

-- the consumer's groups as { name, ..., [name] = name }, nil when it has none
local function consumer_groups(consumer_id)
  local rows, err = kong.cache:get(kong.db.acls:cache_key(consumer_id), nil, load_rows,
                                   { id = consumer_id })
  if err then
    return error(err)
  end
  if rows == nil or rows == EMPTY or #rows == 0 then
    return nil
  end
  local set = group_sets[rows]
  if set == nil then
    set = {}
    for i = 1, #rows do
      local name = rows[i].group
      set[i] = name
      set[name] = name
    end
    group_sets[rows] = set
  end
  return set
end

local function authenticated_groups()
  local list = kong.ctx.shared.authenticated_groups
  if type(list) ~= "table" then
    list = ngx.ctx.authenticated_groups
    if list == nil then
      return nil
    end
    if type(list) ~= "table" then
      kong.log.warn("invalid authenticated_groups, a table was expected")
      return nil
    end
  end
  local set = {}
  for i = 1, #list do
    set[i] = list[i]
    set[list[i]] = list[i]
  end
  return set
end

-- control characters percent-encoded (as OpenResty does): no header splitting
local UNSAFE = "[%z\1-\8\10-\31\127]"
local function header_value(v)
  if find(v, UNSAFE) then
    v = gsub(v, UNSAFE, function(c) return fmt("%%%02X", byte(c)) end)
  end
  return v
end

local function any_in(wanted, set)
  for i = 1, #wanted do
    if set[wanted[i]] then
      return true
    end
  end
  return false
end

-- true (blocked) or the header value to send (allowed)
local function decide(config, conf, set)
  local member = any_in(config.groups, set)
  local blocked
  if config.deny then blocked = member else blocked = not member end
  if blocked then
    return true
  end
  return conf.hide_groups_header and "" or header_value(concat(set, ", "))
end

local function refuse_unidentified()
  if kong.client.get_credential() then
    return kong.response.error(403, FORBIDDEN)
  end
  return kong.response.error(401)
end

function AclHandler:access(conf)
  local config = config_of(conf)
  local consumer = kong.client.get_consumer()
  local credential = kong.client.get_credential()
  local consumer_id = (consumer or EMPTY).id or (credential or EMPTY).consumer_id

  local verdict, header
  local groups
  if consumer_id == nil or credential == nil or conf.always_use_authenticated_groups then
    groups = authenticated_groups()
  end
  if groups then
    verdict, header = decide(config, conf, groups), H_AUTHENTICATED_GROUPS
  elseif consumer_id == nil then
    return refuse_unidentified()
  else
    groups = consumer_groups(consumer_id)
    if groups == nil then
      if not config.deny then
        return refuse_unidentified()
      end
      groups = EMPTY
    end
    verdict = config.decisions[groups]
    if verdict == nil then
      verdict = decide(config, conf, groups)
      config.decisions[groups] = verdict
    end
    header = H_CONSUMER_GROUPS
  end

  if verdict == true then
    return kong.response.error(403, FORBIDDEN)
  end
  if not conf.hide_groups_header and verdict then
    kong.service.request.set_header(header, verdict)
  end
end

return AclHandler

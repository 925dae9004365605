-- kong.db: read-only DAOs over the declarative configuration (Kong's DB-less mode).
--
-- `kong.db.<entity>` exists for every entity Moongate loads (consumers, services,
-- routes, plugins, upstreams, targets, certificates, snis, ca_certificates and the
-- credential entities of the auth plugins) and for the entities a loaded plugin
-- declares in its daos.lua.  Methods keep Kong's DAO conventions:
--   select(pk, options?)                 -> entity | nil | nil, err, err_t
--   select_by_<unique field>(v, options?)
--   select_by_cache_key(key, options?)
--   page(size?, offset?, options?)       -> rows, nil, nil, next_offset
--   each(size?, options?)                -> iterator of entity, nil, page
--   page_for_<fk>(fk, size?, offset?, options?) / each_for_<fk>(fk, size?, options?)
--   cache_key(key, a2, a3, a4, a5, ws_id?)
--   insert / update / upsert / delete (and *_by_<field>): the error DB-less Kong gives
-- Unset fields are nil (or ngx.null with {nulls = true}), foreign keys {id = ...};
-- every call returns a fresh copy.  Rows come from the request's snapshot and are
-- indexed once per configuration (Python: host/lua/modules/moongate_db.py).
local B, H = ...
local type, pairs, ipairs, tostring, tonumber, error = type, pairs, ipairs, tostring, tonumber, error
local setmetatable, getmetatable, pcall, next = setmetatable, getmetatable, pcall, next
local fmt, concat, sort, floor = string.format, table.concat, table.sort, math.floor

local null = H.null
local STRATEGY = "off"

-- Kong's err_t objects and key validation (moongate.db_errors.lua)
local E = H.require("moongate.db_errors")

local PAGE_SIZE, MAX_PAGE_SIZE = 1000, 50000
local DEFAULT_WS = "00000000-0000-0000-0000-000000000000"

local function default_ws()
  local kong = H.kong
  return kong and kong.default_workspace or DEFAULT_WS
end

---------------------------------------------------------------------------------
-- the rows of the request's snapshot, indexed once per configuration hash
---------------------------------------------------------------------------------
local STORES, RECENT = {}, {}   -- hash -> {entity -> index}; hashes, most recent first

--- The configuration hash of the running request's snapshot (asked once per request;
--- kong.cache uses it too).
function H.snapshot_key()
  local R = H.current()
  if R == nil then return B.snapshot_key() end
  local key = R.db_snapshot
  if key == nil then
    key = B.snapshot_key()
    R.db_snapshot = key
  end
  return key
end

local function snapshot_store()
  local key = H.snapshot_key()
  local store = STORES[key]
  if store == nil then
    store = {}
    STORES[key] = store
    table.insert(RECENT, 1, key)
    while #RECENT > 2 do STORES[table.remove(RECENT)] = nil end
  end
  return store
end

local function fk_id(v)
  if type(v) == "table" then return v.id end
  return v
end

local function pk_string(schema, row)
  local pk = schema.primary_key
  if #pk == 1 then return tostring(fk_id(row[pk[1]])) end
  local parts = {}
  for i, k in ipairs(pk) do parts[i] = tostring(fk_id(row[k])) end
  return concat(parts, ":")
end

local cache_key   -- forward (DAO method, used to index multi-field cache keys)

local function build_index(dao)
  local schema = dao.schema
  local rows = B.rows(schema.name)
  local list = {}
  for i = 1, #rows do list[i] = rows[i] end
  sort(list, function(a, b) return pk_string(schema, a) < pk_string(schema, b) end)
  local idx = { rows = list, by_pk = {}, unique = {}, by_fk = {}, by_ck = {} }
  for _, name in ipairs(dao.unique_fields) do idx.unique[name] = {} end
  for _, name in ipairs(dao.foreign_fields) do idx.by_fk[name] = {} end
  local multi_ck = schema.cache_key and #schema.cache_key > 1
  for _, row in ipairs(list) do
    idx.by_pk[pk_string(schema, row)] = row
    for name, map in pairs(idx.unique) do
      local v = fk_id(row[name])
      if v ~= nil then map[v] = row end
    end
    for name, map in pairs(idx.by_fk) do
      local id = fk_id(row[name])
      if id ~= nil then
        local l = map[id]
        if l == nil then l = {}; map[id] = l end
        l[#l + 1] = row
      end
    end
    if multi_ck then idx.by_ck[cache_key(dao, row)] = row end
  end
  return idx
end

local function index(dao)
  local store = snapshot_store()
  local idx = store[dao.schema.name]
  if idx == nil then
    idx = build_index(dao)
    store[dao.schema.name] = idx
  end
  return idx
end

---------------------------------------------------------------------------------
-- values handed to plugins: fresh copies
---------------------------------------------------------------------------------
local function copy(v)
  if type(v) ~= "table" then return v end
  local c = {}
  for k, x in pairs(v) do c[k] = copy(x) end
  local mt = getmetatable(v)
  if mt then setmetatable(c, mt) end
  return c
end

-- entity tables handed to plugins -> { "<entity>:<id>", the row they were copied from }:
-- kong.client.authenticate sends that reference instead of the whole table while the
-- table still equals its row (host/lua/entity_refs.py)
local ORIGIN = setmetatable({}, { __mode = "k" })

local function same(a, b, depth)
  if depth > 16 then return false end
  for k, v in next, a do
    local w = rawget(b, k)
    if v ~= w and (type(v) ~= "table" or type(w) ~= "table" or not same(v, w, depth + 1)) then
      return false
    end
  end
  for k in next, b do
    if rawget(a, k) == nil then return false end
  end
  return true
end

--- The reference of an entity table from kong.db / kong.client.load_consumer, while it
--- is unchanged; nil for any other table.
function H.entity_ref(t)
  local o = ORIGIN[t]
  if o ~= nil and same(t, o[2], 0) then return o[1] end
  return nil
end

--- Remember that `t` is entity `name` as the configuration has it (`row`: what it was
--- copied from; nil: `t` as it is now).
function H.tag_entity(t, name, row)
  local id = rawget(t, "id")
  if type(id) == "string" then ORIGIN[t] = { name .. ":" .. id, row or copy(t) } end
  return t
end

local function entity(dao, row, options)
  local e = copy(row)
  local pk = dao.schema.primary_key
  if #pk == 1 and pk[1] == "id" then H.tag_entity(e, dao.schema.name, row) end
  if options ~= nil then
    if options.nulls then
      for _, name in ipairs(dao.schema.field_order) do
        if e[name] == nil then e[name] = null end
      end
    end
    if options.show_ws_id and dao.schema.workspaceable then e.ws_id = default_ws() end
  end
  return e
end

local array_mt
local function as_array(t)
  if array_mt == nil then
    local ok, cjson = pcall(H.require, "cjson")
    array_mt = ok and type(cjson) == "table" and cjson.array_mt or false
  end
  if array_mt then setmetatable(t, array_mt) end
  return t
end

local function check_options(options, level)
  if options ~= nil and type(options) ~= "table" then
    error("options must be a table when specified", level + 1)
  end
end

local function fail(err_t)
  return nil, tostring(err_t), err_t
end

---------------------------------------------------------------------------------
-- the generic DAO
---------------------------------------------------------------------------------
local DAO = {}

-- primary key values of `pk` validated; nil, errors when invalid
local function check_pk(dao, pk)
  local errors
  for _, k in ipairs(dao.schema.primary_key) do
    local f = dao.schema.fields[k] or {}
    local v = pk[k]
    local err
    if not v then
      err = E.MISSING_PK
    elseif v == null then
      if f.required or f.auto then err = E.REQUIRED end
    else
      err = E.validate_field(f, v)
    end
    if err then
      errors = errors or {}
      errors[k] = err
    end
  end
  return errors
end

function DAO:select(pk, options)
  if type(pk) ~= "table" then error("primary_key must be a table", 2) end
  check_options(options, 2)
  local errors = check_pk(self, pk)
  if errors then return fail(E:invalid_primary_key(errors)) end
  local row = index(self).by_pk[pk_string(self.schema, pk)]
  if row == nil then return nil end
  return entity(self, row, options)
end

local function check_size(size, level)
  if size == nil then return PAGE_SIZE end
  if type(size) ~= "number" then error("size must be a number", level + 1) end
  if floor(size) ~= size or size < 1 or size > MAX_PAGE_SIZE then
    return nil, E:invalid_size("size must be an integer between 1 and " .. MAX_PAGE_SIZE)
  end
  return size
end

local function page_of(dao, rows, size, offset, options)
  local first = 1
  if offset ~= nil then
    first = tonumber(offset)
    if first == nil or first < 1 or floor(first) ~= first then
      return fail(E:invalid_offset(offset, "bad offset string"))
    end
  end
  local out, n = {}, 0
  local last = first + size - 1
  for i = first, last do
    local row = rows[i]
    if row == nil then break end
    n = n + 1
    out[n] = entity(dao, row, options)
  end
  local next_offset = rows[last + 1] ~= nil and tostring(last + 1) or nil
  return as_array(out), nil, nil, next_offset
end

function DAO:page(size, offset, options)
  if offset ~= nil and type(offset) ~= "string" then error("offset must be a string", 2) end
  local err_t
  size, err_t = check_size(size, 2)
  if not size then return fail(err_t) end
  check_options(options, 2)
  return page_of(self, index(self).rows, size, offset, options)
end

local function iterate(dao, rows_of, size, options)
  local page, i, n = 1, 0, 0
  local rows
  return function()
    rows = rows or rows_of()
    i = i + 1
    local row = rows[i]
    if row == nil then return nil end
    n = n + 1
    if n > size then page, n = page + 1, 1 end
    return entity(dao, row, options), nil, page
  end
end

function DAO:each(size, options)
  local err_t
  size, err_t = check_size(size, 2)
  if not size then return fail(err_t) end
  check_options(options, 2)
  return iterate(self, function() return index(self).rows end, size, options)
end

function cache_key(self, key, arg2, arg3, arg4, arg5, ws_id)
  local schema = self.schema
  if (ws_id == nil or ws_id == null) and schema.workspaceable then ws_id = default_ws() end
  if type(key) == "string" then
    local function s(v) if v == nil or v == null then return "" end return v end
    return fmt("%s:%s:%s:%s:%s:%s:%s", schema.name, key, s(arg2), s(arg3), s(arg4), s(arg5), s(ws_id))
  end
  if type(key) ~= "table" then error("key must be a string or an entity table", 2) end
  if key.ws_id ~= nil and key.ws_id ~= null and schema.workspaceable then ws_id = key.ws_id end
  local function value(name)
    local v = key[name]
    if v == nil or v == null then return nil end
    local f = schema.fields[name]
    if type(v) == "table" and f and f.type == "foreign" then
      v = v.id
      if v == nil or v == null then return nil end
    end
    return tostring(v)
  end
  local values, i, use_pk = { schema.name }, 2, true
  for _, name in ipairs(schema.cache_key or {}) do
    local v = value(name)
    if v ~= nil then use_pk = false end
    values[i] = v or ""
    i = i + 1
  end
  if use_pk then
    i = 2
    for _, name in ipairs(schema.primary_key) do
      values[i] = value(name) or ""
      i = i + 1
    end
  end
  for n = i, 6 do values[n] = "" end
  values[7] = ws_id or ""
  return concat(values, ":", 1, 7)
end
DAO.cache_key = cache_key

function DAO:select_by_cache_key(key, options)
  local ck = self.schema.cache_key
  if not ck then error("entity does not have a cache_key defined", 2) end
  if type(key) ~= "string" then key = cache_key(self, key) end
  if #ck == 1 then return self["select_by_" .. ck[1]](self, key, options) end
  check_options(options, 2)
  local row = index(self).by_ck[key]
  if row == nil then return nil end
  return entity(self, row, options)
end

-- writes: what Kong answers when no database is configured
local function unsupported(operation, dao)
  return fail(E:operation_unsupported(fmt("cannot %s '%s' entities when not using a database",
    operation, dao.schema.name)))
end

function DAO:insert(e, options)
  if type(e) ~= "table" then error("entity must be a table", 2) end
  check_options(options, 2)
  return unsupported("create", self)
end

function DAO:update(pk, e, options)
  if type(pk) ~= "table" then error("primary_key must be a table", 2) end
  if type(e) ~= "table" then error("entity must be a table", 2) end
  check_options(options, 2)
  local errors = check_pk(self, pk)
  if errors then return fail(E:invalid_primary_key(errors)) end
  if index(self).by_pk[pk_string(self.schema, pk)] == nil then
    local values = {}
    for _, k in ipairs(self.schema.primary_key) do values[k] = pk[k] end
    return fail(E:not_found(values))
  end
  return unsupported("update", self)
end

function DAO:upsert(pk, e, options)
  if type(pk) ~= "table" then error("primary_key must be a table", 2) end
  if type(e) ~= "table" then error("entity must be a table", 2) end
  check_options(options, 2)
  local errors = check_pk(self, pk)
  if errors then return fail(E:invalid_primary_key(errors)) end
  return unsupported("create or update", self)
end

function DAO:delete(pk, options)
  if type(pk) ~= "table" then error("primary_key must be a table", 2) end
  check_options(options, 2)
  local errors = check_pk(self, pk)
  if errors then return fail(E:invalid_primary_key(errors)) end
  if index(self).by_pk[pk_string(self.schema, pk)] == nil then return true end
  return unsupported("remove", self)
end

function DAO:truncate() return true end

---------------------------------------------------------------------------------
-- methods generated per field: select_by_*, page_for_* / each_for_*, *_by_*
---------------------------------------------------------------------------------
local function unique_methods(dao, methods, name, f)
  local function check(value, options, level)
    E.check_unique_type(value, name, f, level + 1)
    check_options(options, level + 1)
    local err = E.validate_field(f, value)
    if err then
      if f.type == "foreign" then return E:invalid_foreign_key(err) end
      return E:invalid_unique(name, err)
    end
  end
  local function find(value)
    return index(dao).unique[name][fk_id(value)]
  end

  methods["select_by_" .. name] = function(self, value, options)
    local err_t = check(value, options, 2)
    if err_t then return fail(err_t) end
    local row = find(value)
    if row == nil then return nil end
    return entity(self, row, options)
  end
  methods["update_by_" .. name] = function(self, value, e, options)
    local err_t = check(value, options, 2)
    if err_t then return fail(err_t) end
    if type(e) ~= "table" then error("entity must be a table", 2) end
    if find(value) == nil then return fail(E:not_found_by_field({ [name] = value })) end
    return unsupported("update", self)
  end
  methods["upsert_by_" .. name] = function(self, value, e, options)
    local err_t = check(value, options, 2)
    if err_t then return fail(err_t) end
    if type(e) ~= "table" then error("entity must be a table", 2) end
    return unsupported("create or update", self)
  end
  methods["delete_by_" .. name] = function(self, value, options)
    local err_t = check(value, options, 2)
    if err_t then return fail(err_t) end
    if find(value) == nil then return true end
    return unsupported("remove", self)
  end
end

local function iteration_failed(err_t)
  local failed = false
  return function()
    if failed then return nil end
    failed = true
    return false, tostring(err_t), err_t
  end
end

local function foreign_methods(dao, methods, name, f)
  local function check(fk, size, offset, options, level)
    if type(fk) ~= "table" then error("foreign_key must be a table", level + 1) end
    if size ~= nil and type(size) ~= "number" then error("size must be a number", level + 1) end
    if offset ~= nil and type(offset) ~= "string" then error("offset must be a string", level + 1) end
    check_options(options, level + 1)
    local err = E.validate_field(f, fk)
    if err then return nil, E:invalid_primary_key(err) end
    return check_size(size, level + 1)
  end
  local function rows_for(fk)
    return index(dao).by_fk[name][fk.id] or {}
  end

  methods["page_for_" .. name] = function(self, fk, size, offset, options)
    local err_t
    size, err_t = check(fk, size, offset, options, 2)
    if not size then return fail(err_t) end
    return page_of(self, rows_for(fk), size, offset, options)
  end
  methods["each_for_" .. name] = function(self, fk, size, options)
    local err_t
    size, err_t = check(fk, size, nil, options, 2)
    if not size then return iteration_failed(err_t) end
    return iterate(self, function() return rows_for(fk) end, size, options)
  end
end

-- The methods of the custom DAO module a plugin's daos.lua names for an entity
-- (`dao = "kong.plugins.<name>.<module>"`), or nil.  Moongate's entity metadata carries
-- only the declaring plugin, so the schema table is read back from its daos module
-- (already loaded, so this costs a lookup).
local function custom_methods(schema)
  local plugin = schema.daos_plugin
  if plugin == nil then return nil end
  local ok, daos = pcall(H.load_module, "kong.plugins." .. plugin .. ".daos")
  if not ok or type(daos) ~= "table" then return nil end
  local def = daos[schema.name]
  if def == nil then
    for _, d in ipairs(daos) do
      if type(d) == "table" and d.name == schema.name then def = d; break end
    end
  end
  local module = type(def) == "table" and def.dao or nil
  if module == nil then return nil end
  local loaded, methods = pcall(H.make_require(plugin), module)
  if not loaded or type(methods) ~= "table" then
    local why = loaded and ("it returned a " .. type(methods)) or tostring(methods)
    error(fmt("kong.db.%s: cannot load its dao module '%s': %s", schema.name, tostring(module), why), 0)
  end
  return methods
end

--- Kong's DAO.new: the generated methods (select_by_*, page_for_*, ...) over the generic
--- DAO are the entity's `super`; a custom DAO module's methods sit on the DAO itself
--- and reach the generic ones with `self.super.page_for_consumer(self, ...)`.
local function new_dao(db, schema)
  local super = setmetatable({}, { __index = DAO })
  local dao = { db = db, schema = schema, strategy = db.strategy, errors = E, super = super,
    pagination = { page_size = PAGE_SIZE, max_page_size = MAX_PAGE_SIZE },
    unique_fields = {}, foreign_fields = {} }
  for _, name in ipairs(schema.field_order) do
    local f = schema.fields[name]
    if f.type == "foreign" then
      dao.foreign_fields[#dao.foreign_fields + 1] = name
      foreign_methods(dao, super, name, f)
    end
    if f.unique or schema.endpoint_key == name then
      dao.unique_fields[#dao.unique_fields + 1] = name
      unique_methods(dao, super, name, f)
    end
  end
  local custom = custom_methods(schema)
  if custom ~= nil then
    for name, method in pairs(custom) do dao[name] = method end
  end
  return setmetatable(dao, { __index = super })
end

local db = { strategy = STRATEGY }

setmetatable(db, {
  __index = function(t, name)
    if type(name) ~= "string" then return nil end
    local schema = B.entity_meta(name)
    if schema == nil then return nil end
    local dao = new_dao(t, schema)
    rawset(t, name, dao)
    return dao
  end,
})
db.daos = setmetatable({}, { __index = function(_, name) return db[name] end })

return db

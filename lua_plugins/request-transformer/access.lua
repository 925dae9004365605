-- request-transformer's access phase: Kong's order of operations, the URI (replace.uri)
-- first, then the method, the headers, the body and the query string; within each,
-- remove, rename, replace, add, append.  Values may hold template parts
-- (template.lua), rendered against the client's request.
local cjson = require("cjson.safe").new()
local template = require "kong.plugins.request-transformer.template"
local multipart = require "kong.plugins.request-transformer.multipart"

local kong = kong
local ngx = ngx
local type, pairs, next, tostring, error = type, pairs, next, tostring, error
local find, lower = string.find, string.lower

cjson.decode_array_with_array_mt(true)

local JSON, MULTI, FORM = "json", "multipart", "form"
local EMPTY = {}

local _M = {}

-- compiled templates by their text (config strings: a bounded set)
local compiled = {}

local function render(text, env)
  if template.is_plain(text) then return text end
  local t = compiled[text]
  if not t then
    local err
    t, err = template.compile(text)
    if not t then
      error("[request-transformer] failed to render the template " .. text .. ", error:" .. tostring(err))
    end
    compiled[text] = t
  end
  return template.render(t, env)
end

-- for i, name, value in entries(array, env): "name:value" pairs, values rendered
local function entries(array, env)
  return function(list, i)
    i = i + 1
    local entry = list[i]
    if entry == nil then return nil end
    local name, value = entry:match("^([^:]+):*(.-)$")
    if value == "" then return i, name end
    return i, name, render(value, env)
  end, array, 0
end

local function append_value(current, value)
  local kind = type(current)
  if kind == "table" then
    current[#current + 1] = value
    return current
  elseif kind == "string" then
    return { current, value }
  end
  return { value }
end

local function rename(tbl, old, new)
  if old == new then return false end
  local value = tbl[old]
  if value == nil then return false end
  tbl[old], tbl[new] = nil, value
  return true
end

local function any(...)
  for i = 1, select("#", ...) do
    if #select(i, ...) > 0 then return true end
  end
  return false
end

-- the template values, looked up on first use
local function template_env()
  return setmetatable({}, {
    __index = function(self, key)
      local value
      if key == "headers" then
        value = kong.request.get_headers()
      elseif key == "query_params" then
        value = kong.request.get_query()
      elseif key == "uri_captures" then
        value = {}
        local captures = kong.request.get_uri_captures() or EMPTY
        for k, v in pairs(captures.unnamed or EMPTY) do value[k] = v end
        for k, v in pairs(captures.named or EMPTY) do value[k] = v end
      elseif key == "shared" then
        value = kong.ctx.shared
      else
        return nil
      end
      rawset(self, key, value)
      return value
    end,
  })
end

local function content_kind(content_type)
  if not content_type then return nil end
  content_type = lower(content_type)
  if find(content_type, "application/json", 1, true) then return JSON end
  if find(content_type, "multipart/form-data", 1, true) then return MULTI end
  if find(content_type, "application/x-www-form-urlencoded", 1, true) then return FORM end
end

local function transform_uri(conf, env)
  local uri = conf.replace.uri
  if uri then
    local path = render(uri, env)
    if path and path ~= "" then
      kong.service.request.set_path(path)
    end
  end
end

local function transform_method(conf)
  local method = conf.http_method
  if not method then return end
  method = method:upper()
  kong.service.request.set_method(method)
  if (method == "GET" or method == "HEAD" or method == "TRACE")
      and content_kind(kong.request.get_header("content-type")) == FORM then
    -- the form's fields go to the query string
    local params = ngx.decode_args(kong.request.get_raw_body() or "")
    if type(params) == "table" and next(params) then
      local query = kong.request.get_query()
      for name, value in pairs(params) do
        local current = query[name]
        if current == nil then
          query[name] = value
        elseif type(current) == "table" then
          current[#current + 1] = value
        else
          query[name] = { current, value }
        end
      end
      kong.service.request.set_query(query)
    end
  end
end

local function transform_headers(conf, env)
  local rm, rn, rp, ad, ap = conf.remove.headers, conf.rename.headers, conf.replace.headers,
    conf.add.headers, conf.append.headers
  if not any(rm, rn, rp, ad, ap) then return end
  local headers = {}
  for k, v in pairs(kong.request.get_headers()) do headers[lower(k)] = v end
  headers.host = nil
  local display, changed, removed = {}, {}, {}

  local function set(l, name, value)
    headers[l], display[l], changed[l], removed[l] = value, name, true, nil
  end

  for _, name in entries(rm, env) do
    local l = lower(name)
    if headers[l] ~= nil then
      headers[l], removed[l], changed[l] = nil, true, nil
    end
  end
  for _, old, new in entries(rn, env) do
    local lo, ln = lower(old), lower(new)
    local value = headers[lo]
    if value ~= nil and old ~= new then
      headers[lo], removed[lo], changed[lo] = nil, true, nil
      set(ln, new, value)
    end
  end
  for _, name, value in entries(rp, env) do
    local l = lower(name)
    if headers[l] ~= nil or l == "host" then
      set(l, display[l] or name, value)
    end
  end
  for _, name, value in entries(ad, env) do
    local l = lower(name)
    if headers[l] == nil and l ~= "host" then
      set(l, name, value)
    end
  end
  for _, name, value in entries(ap, env) do
    local l = lower(name)
    set(l, name, append_value(headers[l], value))
  end

  for l in pairs(removed) do
    kong.service.request.clear_header(l)
  end
  if next(changed) then
    local out = {}
    for l in pairs(changed) do out[display[l] or l] = headers[l] end
    kong.service.request.set_headers(out)
  end
end

local function transform_fields(conf, params, has_body, env, absent)
  local done = false
  if has_body then
    for _, name in entries(conf.remove.body, env) do
      params[name], done = nil, true
    end
    for _, old, new in entries(conf.rename.body, env) do
      done = rename(params, old, new) or done
    end
    for _, name, value in entries(conf.replace.body, env) do
      if params[name] ~= nil and params[name] ~= absent then
        params[name], done = value, true
      end
    end
  end
  for _, name, value in entries(conf.add.body, env) do
    if params[name] == nil then
      params[name], done = value, true
    end
  end
  for _, name, value in entries(conf.append.body, env) do
    params[name], done = append_value(params[name], value), true
  end
  return done
end

local function transform_multipart(conf, body, content_type, env)
  local parts = multipart.new(body, content_type)
  local has_body, done = #body > 0, false
  if has_body then
    for _, old, new in entries(conf.rename.body, env) do
      local part = parts:get(old)
      if part and old ~= new then
        parts:set_simple(new, part.value)
        parts:delete(old)
        done = true
      end
    end
    for _, name in entries(conf.remove.body, env) do
      parts:delete(name)
      done = true
    end
    for _, name, value in entries(conf.replace.body, env) do
      if parts:get(name) then
        parts:delete(name)
        parts:set_simple(name, value)
        done = true
      end
    end
  end
  for _, name, value in entries(conf.add.body, env) do
    if not parts:get(name) then
      parts:set_simple(name, value)
      done = true
    end
  end
  return done and parts:tostring() or nil
end

local function transform_body(conf, env)
  local content_type = kong.request.get_header("content-type")
  local kind = content_kind(content_type)
  if not kind or not any(conf.remove.body, conf.rename.body, conf.replace.body,
                         conf.add.body, conf.append.body) then
    return
  end
  local body, err = kong.request.get_raw_body()
  if err then kong.log.warn(err) end
  body = body or ""
  local out
  if kind == JSON then
    local params = cjson.decode(body)
    if type(params) ~= "table" then
      if #body > 0 then return end
      params = {}
    end
    if transform_fields(conf, params, #body > 0, env) then
      out = cjson.encode(params)
    end
  elseif kind == FORM then
    local params = ngx.decode_args(body)
    if transform_fields(conf, params, #body > 0, env) then
      out = ngx.encode_args(params)
    end
  else
    out = transform_multipart(conf, body, content_type, env)
  end
  if out then
    kong.service.request.set_raw_body(out)
  end
end

local function transform_querystring(conf, env)
  local rm, rn, rp, ad, ap = conf.remove.querystring, conf.rename.querystring,
    conf.replace.querystring, conf.add.querystring, conf.append.querystring
  if not any(rm, rn, rp, ad, ap) then return end
  local query = {}
  for k, v in pairs(env.query_params) do
    if type(v) == "table" then
      local copy = {}
      for i = 1, #v do copy[i] = v[i] end
      v = copy
    end
    query[k] = v
  end
  for _, name in entries(rm, env) do query[name] = nil end
  for _, old, new in entries(rn, env) do rename(query, old, new) end
  for _, name, value in entries(rp, env) do
    if query[name] ~= nil then query[name] = value end
  end
  for _, name, value in entries(ad, env) do
    if query[name] == nil then query[name] = value end
  end
  for _, name, value in entries(ap, env) do
    query[name] = append_value(query[name], value)
  end
  kong.service.request.set_query(query)
end

function _M.execute(conf)
  local env = template_env()
  transform_uri(conf, env)
  transform_method(conf)
  transform_headers(conf, env)
  transform_body(conf, env)
  transform_querystring(conf, env)
end

return _M

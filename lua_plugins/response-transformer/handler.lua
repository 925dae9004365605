-- response-transformer (Kong 3.x, PRIORITY 800): edits the response on its way to the
-- client.  header_filter: headers, in Kong's order remove, rename, replace, add,
-- append (and Content-Length dropped when the JSON body will change).  body_filter:
-- a JSON body (Content-Type application/json or +json) is buffered with
-- kong.response.get_raw_body() until its last chunk, transformed in the same order
-- (values typed by json_types) and sent with kong.response.set_raw_body().
local kong_meta = require "kong.meta"
local cjson = require("cjson.safe").new()
local mime_type = require "kong.tools.mime_type"
local kstring = require "kong.tools.string"

local kong = kong
local type, tonumber, next = type, tonumber, next
local byte, sub, gsub, match = string.byte, string.sub, string.gsub, string.match

cjson.decode_array_with_array_mt(true)

local QUOTE = byte('"')
local JSON_MEDIA = { type = "application", subtype = "json" }

local ResponseTransformerHandler = {
  PRIORITY = 800,
  VERSION = kong_meta.version,
}

-- for i, name, value in entries(array): "name:value" (value nil when absent)
local function entries(array)
  return function(list, i)
    i = i + 1
    local entry = list[i]
    if entry == nil then return nil end
    local name, value = match(entry, "^([^:]+):*(.-)$")
    if value == "" then value = nil end
    return i, name, value
  end, array, 0
end

local function is_json(content_type)
  if not content_type then return false end
  for ct in kstring.isplitn(content_type, ",") do
    local t, subtype = mime_type.parse_mime_type(kstring.strip(ct))
    if t and subtype and mime_type.includes(JSON_MEDIA, { type = t, subtype = subtype }) then
      return true
    end
  end
  return false
end

local function body_transform_set(conf)
  return next(conf.add.json) ~= nil or next(conf.rename.json) ~= nil or next(conf.remove.json) ~= nil
    or next(conf.replace.json) ~= nil or next(conf.append.json) ~= nil
end

-- the value as Kong writes it: the JSON string's text, then typed by json_types
local function json_value(value, json_type)
  local v = cjson.encode(value)
  if v and byte(v, 1) == QUOTE and byte(v, -1) == QUOTE then
    v = gsub(sub(v, 2, -2), '\\"', '"')
  end
  v = v and gsub(v, "\\/", "/")
  if json_type == "number" then
    return tonumber(v)
  elseif json_type == "boolean" then
    return v == "true"
  end
  return v
end

local function append_value(current, value)
  local kind = type(current)
  if kind == "string" then return { current, value } end
  if kind == "table" then
    current[#current + 1] = value
    return current
  end
  return { value }
end

local function transform_json(conf, body)
  local json = cjson.decode(body)
  if type(json) ~= "table" then
    return nil, "failed parsing json body"
  end
  for _, name in entries(conf.remove.json) do
    json[name] = nil
  end
  for _, old, new in entries(conf.rename.json) do
    if json[old] ~= nil and new then
      json[new], json[old] = json[old], nil
    end
  end
  local types = conf.replace.json_types
  for i, name, value in entries(conf.replace.json) do
    local v = json_value(value, types[i])
    if json[name] and v ~= nil then json[name] = v end
  end
  types = conf.add.json_types
  for i, name, value in entries(conf.add.json) do
    local v = json_value(value, types[i])
    if not json[name] and v ~= nil then json[name] = v end
  end
  types = conf.append.json_types
  for i, name, value in entries(conf.append.json) do
    local v = json_value(value, types[i])
    if v ~= nil then json[name] = append_value(json[name], v) end
  end
  return cjson.encode(json)
end

function ResponseTransformerHandler:header_filter(conf)
  local response = kong.response
  for _, name in entries(conf.remove.headers) do
    response.clear_header(name)
  end
  for _, old, new in entries(conf.rename.headers) do
    local value = response.get_header(old)
    if value ~= nil and new then
      response.set_header(new, value)
      response.clear_header(old)
    end
  end
  for _, name, value in entries(conf.replace.headers) do
    if value and response.get_header(name) ~= nil then
      response.set_header(name, value)
    end
  end
  for _, name, value in entries(conf.add.headers) do
    if value and response.get_header(name) == nil then
      response.set_header(name, value)
    end
  end
  for _, name, value in entries(conf.append.headers) do
    response.add_header(name, value)
  end
  if body_transform_set(conf) and is_json(response.get_header("Content-Type")) then
    response.clear_header("Content-Length")
  end
end

function ResponseTransformerHandler:body_filter(conf)
  if not body_transform_set(conf) or not is_json(kong.response.get_header("Content-Type")) then
    return
  end
  local body = kong.response.get_raw_body()
  if body == nil then
    return -- more chunks to come
  end
  local out, err = transform_json(conf, body)
  if not out then
    kong.log.warn("body transform failed: " .. err)
    return
  end
  return kong.response.set_raw_body(out)
end

return ResponseTransformerHandler

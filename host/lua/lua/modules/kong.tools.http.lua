-- `kong.tools.http`: Kong's HTTP helpers (kong/tools/http.lua): query-string
-- encoding/decoding, https detection, header and token validation, default exit
-- bodies, content negotiation for error pages, Cache-Control parsing and TTLs.
-- Request and response data come from the running request (Python backing).
local B, H = ...
local type, pairs, ipairs, tostring, tonumber, error, rawset = type, pairs, ipairs, tostring, tonumber, error, rawset
local setmetatable, sort, concat = setmetatable, table.sort, table.concat
local fmt, lower, gsub, find, byte, match, gmatch = string.format, string.lower, string.gsub, string.find, string.byte, string.match, string.gmatch
local max = math.max

local str = H.require("kong.tools.string")
local splitn, split_once, strip = str.splitn, str.split_once, str.strip
local EMPTY = H.require("kong.tools.table").EMPTY

local _M = {}

_M.CONTENT_TYPES = {
  CONTENT_TYPE = "Content-Type",
  CONTENT_TYPE_POST = "application/x-www-form-urlencoded",
  CONTENT_TYPE_JSON = "application/json",
  CONTENT_TYPE_FORM_DATA = "multipart/form-data",
}

---------------------------------------------------------------------------------
-- query strings
---------------------------------------------------------------------------------
-- LuaSocket's url.escape: everything but [A-Za-z0-9_] as %xx (lowercase hex)
local function escape(s)
  return (gsub(s, "([^A-Za-z0-9_])", function(c) return fmt("%%%02x", byte(c)) end))
end

local function encode_pair(key, value, raw)
  if not raw then key = escape(tostring(key)) end
  if value == nil then return tostring(key) end
  if not raw then value = escape(value) end
  return key .. "=" .. value
end

local function compare_keys(a, b)
  local ta = type(a)
  if ta == type(b) then return a < b end
  return ta == "number"   -- numbers first, then the other keys
end

local function sorted_keys(t)
  local keys = {}
  for k in pairs(t) do keys[#keys + 1] = k end
  sort(keys, compare_keys)
  return keys
end

local function encode_nested(parent, value, raw, no_array_indexes, query)
  for _, sub_key in ipairs(sorted_keys(value)) do
    local sub_value = value[sub_key]
    local key
    if type(sub_key) == "number" then
      key = no_array_indexes and parent .. "[]" or fmt("%s[%s]", parent, tostring(sub_key))
    else
      key = fmt("%s.%s", parent, tostring(sub_key))
    end
    if type(sub_value) == "table" then
      encode_nested(key, sub_value, raw, no_array_indexes, query)
    else
      query[#query + 1] = encode_pair(key, sub_value, raw)
    end
  end
end

--- A query string from a table (keys sorted; nested tables as `a[1]`/`a.b`,
--- `a[]` with no_array_indexes; ngx.null as an empty value; `raw`: no escaping).
function _M.encode_args(args, raw, no_array_indexes)
  local query = {}
  local null = H.null
  for _, key in ipairs(sorted_keys(args)) do
    local value = args[key]
    if type(value) == "table" then
      encode_nested(key, value, raw, no_array_indexes, query)
    elseif value == null then
      query[#query + 1] = encode_pair(key, "")
    elseif value ~= nil or raw then
      value = tostring(value)
      if value ~= "" then
        query[#query + 1] = encode_pair(key, value, raw)
      else
        query[#query + 1] = key
      end
    end
  end
  return concat(query, "&")
end

-- {["1"] = "a", ["2"] = "b"} -> {"a", "b"}; nil unless the keys are exactly 1..n
local function decode_array(t)
  local keys, len = {}, 0
  for k in pairs(t) do
    len = len + 1
    local n = tonumber(k)
    if not n then return nil end
    keys[len] = n
  end
  sort(keys)
  local arr = {}
  for i = 1, len do
    if keys[i] ~= i then return nil end
    arr[i] = t[tostring(i)] or t[i]
  end
  return arr
end

--- Decoded form args made typed: "" -> ngx.null, "true"/"false" -> booleans,
--- {["1"]=..,["2"]=..} -> arrays.
function _M.decode_args(args)
  local null = H.null
  local out = {}
  for k, v in pairs(args) do
    if type(v) == "table" then
      v = decode_array(v) or v
    elseif v == "" then
      v = null
    elseif v == "true" then
      v = true
    elseif v == "false" then
      v = false
    end
    out[k] = v
  end
  return out
end

---------------------------------------------------------------------------------
-- the running request
---------------------------------------------------------------------------------
local https_state = B.https_state

--- Whether the request came over https; with allow_terminated and a trusted
--- client, X-Forwarded-Proto: https counts too (nil, err if it holds several values).
function _M.check_https(trusted_ip, allow_terminated)
  local scheme, forwarded = https_state()
  if lower(scheme) == "https" then return true end
  if not allow_terminated or not trusted_ip then return false end
  if not forwarded then return false end
  if find(forwarded, ",", 1, true) then
    return nil, "Only one X-Forwarded-Proto header allowed"
  end
  return lower(forwarded) == "https"
end

--- The first value of request header `name` (ctx: cache the headers in this table).
function _M.get_header(name, ctx)
  if ctx then
    local headers = ctx.cached_request_headers
    if not headers then
      headers = H.kong.request.get_headers()
      ctx.cached_request_headers = headers
    end
    local value = headers[name]
    if type(value) == "table" then return value[1] end
    return value
  end
  return H.kong.request.get_header(name)
end

---------------------------------------------------------------------------------
-- validation
---------------------------------------------------------------------------------
local TOKEN_FORBIDDEN = '[%z\1-\31\127-\255 \t()<>@,;:\\"/?={}%[%]]'

--- `token` when it is an RFC 2616 token, else nil, err.
function _M.validate_http_token(token)
  if token == nil or token == "" then return nil, "no token provided" end
  if not find(token, TOKEN_FORBIDDEN) then return token end
  return nil, "contains one or more invalid characters. ASCII " ..
              "control characters (0-31;127), space, tab and the " ..
              "characters ()<>@,;:\\\"/?={}[] are not allowed."
end

--- `name` when it holds only A-Z a-z 0-9 _ -, else nil, err.
function _M.validate_header_name(name)
  if name == nil or name == "" then return nil, "no header name provided" end
  if not find(name, "[^A-Za-z0-9_%-]") then return name end
  return nil, "bad header name '" .. name ..
              "', allowed characters are A-Z, a-z, 0-9, '_', and '-'"
end

_M.validate_cookie_name = _M.validate_http_token

---------------------------------------------------------------------------------
-- exit bodies and error pages
---------------------------------------------------------------------------------
local OVERRIDES = { [405] = "Method not allowed", [500] = "An unexpected error occurred", [502] = "Bad gateway" }
local DEFAULTS = { [401] = "Unauthorized", [404] = "Not found", [503] = "Service unavailable" }

--- The body kong.response.exit would send for `status` and `message`.
function _M.get_default_exit_body(status, message)
  if type(status) ~= "number" then
    error("code must be a number", 2)
  elseif status < 100 or status > 599 then
    error(fmt("code must be a number between %u and %u", 100, 599), 2)
  end
  if status == 204 then return nil end
  local body = OVERRIDES[status] or message or DEFAULTS[status]
  if body ~= nil and type(body) ~= "table" then body = { message = body } end
  return body
end

local JSON, GRPC, HTML, XML, PLAIN = "application/json", "application/grpc", "text/html", "application/xml", "text/plain"
-- Kong's error-page Content-Types and templates: the ones kong.response.error uses
-- (pdk/_exit.py), in string.format form ("%s" message, "%s" request id)
local MIME_TYPES = B.mime_types()
MIME_TYPES[GRPC] = ""
MIME_TYPES.default = MIME_TYPES[JSON]
local TEMPLATES = B.error_templates()
TEMPLATES[GRPC] = ""

-- custom templates from kong.conf's error_template_<format> (read once)
local read_file = B.read_file
local custom_templates = setmetatable({}, {
  __index = function(self, format)
    local conf = H.kong and H.kong.configuration
    local path = conf and conf["error_template_" .. format]
    local template = false
    if type(path) == "string" then
      local text, err = read_file(path)
      if text then
        template = text
      elseif H.ngx and H.ngx.log then
        H.ngx.log(4, fmt("failed reading the custom %s error template: %s", format, err))
      end
    end
    rawset(self, format, template)
    return template
  end,
})

--- The Content-Type for a media type ("text/*" -> "text/plain; charset=utf-8");
--- unknown types give the JSON default unless use_default is false (then nil, err).
function _M.get_mime_type(content_header, use_default)
  use_default = use_default == nil or use_default
  content_header = split_once(strip(content_header), ";")
  local mime_type
  local entries, count = splitn(content_header, "/", 3)
  if count > 1 then
    if entries[2] == "*" then
      mime_type = entries[1] == "*" and MIME_TYPES.default or MIME_TYPES[entries[1]]
    else
      mime_type = MIME_TYPES[content_header]
    end
  end
  if mime_type or use_default then
    return mime_type or MIME_TYPES.default
  end
  return nil, "could not find MIME type"
end

local best_accepted = B.best_accepted

--- The Content-Type of an error page for an Accept header (string or list of values).
function _M.get_response_type(accept_header)
  if type(accept_header) == "table" then accept_header = concat(accept_header, ",") end
  local media_type = accept_header ~= nil and best_accepted(accept_header)
  if media_type then return _M.get_mime_type(media_type) end
  return MIME_TYPES.default
end

--- The error page template (format "%s" message, "%s" request id) for a MIME type.
function _M.get_error_template(mime_type)
  if mime_type == JSON or mime_type == MIME_TYPES[JSON] then
    return custom_templates.json or TEMPLATES[JSON]
  elseif mime_type == HTML or mime_type == MIME_TYPES[HTML] then
    return custom_templates.html or TEMPLATES[HTML]
  elseif mime_type == XML or mime_type == MIME_TYPES[XML] then
    return custom_templates.xml or TEMPLATES[XML]
  elseif mime_type == PLAIN or mime_type == MIME_TYPES[PLAIN] then
    return custom_templates.plain or TEMPLATES[PLAIN]
  elseif mime_type == GRPC or mime_type == MIME_TYPES[GRPC] then
    return TEMPLATES[GRPC]
  end
  return nil, "no template found for MIME type " .. (mime_type or "empty")
end

---------------------------------------------------------------------------------
-- caching directives
---------------------------------------------------------------------------------
--- "public, max-age=3600" -> {public = true, ["max-age"] = 3600}; a list of
--- header values is joined first; nil gives the shared EMPTY table.
function _M.parse_directive_header(h)
  if not h then return EMPTY end
  if type(h) == "table" then h = concat(h, ", ") end
  local t = {}
  for part in gmatch(h, "[^,]+") do
    local key, value = match(part, "^%s*([^=]+)=(.+)")
    if not key then key = match(part, "^%s*([^=]+)") end
    if key then
      t[lower(key)] = tonumber(value) or value or true
    end
  end
  return t
end

local expires_in = B.expires_in

--- Seconds a response may be cached: s-maxage or max-age of the parsed
--- Cache-Control, else the response's Expires header; never below 0.
function _M.calculate_resource_ttl(res_cc)
  local max_age = res_cc and (res_cc["s-maxage"] or res_cc["max-age"])
  if not max_age then
    max_age = expires_in()
  end
  return max_age and max(max_age, 0) or 0
end

return _M

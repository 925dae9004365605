-- kong.pdk.private.rate_limiting: the rate-limiting plugins keep the X-RateLimit-*
-- headers they computed in the request's ngx.ctx and set them on the response later
-- (header_filter).  store_response_header(ngx_ctx, key, value),
-- get_stored_response_header(ngx_ctx, key), apply_response_headers(ngx_ctx).
local _, H = ...

local type, pairs, tostring, error, format = type, pairs, tostring, error, string.format

local FIELD = "__moongate_rate_limiting_headers"

local function check_key(key, fname)
  if type(key) ~= "string" then
    error(format("arg #2 `key` for function `%s` must be a string, got %s", fname, type(key)), 3)
  end
end

local _M = {}

function _M.store_response_header(ngx_ctx, key, value)
  check_key(key, "store_response_header")
  local kind = type(value)
  if kind ~= "string" and kind ~= "number" then
    error(format("arg #3 `value` for function `store_response_header` must be a string or a number, got %s",
      kind), 2)
  end
  local stored = ngx_ctx[FIELD]
  if stored == nil then
    stored = {}
    ngx_ctx[FIELD] = stored
  end
  stored[key] = value
end

function _M.get_stored_response_header(ngx_ctx, key)
  check_key(key, "get_stored_response_header")
  local stored = ngx_ctx[FIELD]
  return stored and stored[key]
end

function _M.apply_response_headers(ngx_ctx)
  local stored = ngx_ctx[FIELD]
  if stored == nil then return end
  H.set_response_headers(stored) -- ngx.header[k] = tostring(v) for each, in one crossing
end

return _M

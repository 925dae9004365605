-- The `ngx` global: OpenResty's API as far as Kong plugins use it.  Assembled from
-- parts, one host module each (moongate.ngx_*), merged in this order; a later part
-- may add sub-tables (ngx.re, ngx.shared, ngx.timer, ...).  Every part must load.
local _, H = ...
local pairs, type = pairs, type

local PARTS = {
  "moongate.ngx_base",    -- ctx, var, req, header, status, exit, log, constants, worker, config, phase
  "moongate.ngx_time",    -- time, now, update_time, today, http_time, parse_http_time, cookie_time, localtime, utctime
  "moongate.ngx_string",  -- base64, md5, sha1, hmac_sha1, crc32, escape/unescape_uri, encode/decode_args, quote_sql_str
  "moongate.ngx_re",      -- ngx.re.match/find/gmatch/gsub/sub/split
  "moongate.ngx_shared",  -- ngx.shared.DICT
  "moongate.ngx_timer",   -- ngx.timer.at/every, ngx.sleep
  "moongate.ngx_socket",  -- ngx.socket.tcp/udp/connect (cosockets)
}

local ngx = {}
local meta = {}   -- __index/__newindex handlers parts contribute (ngx.status)
for _, name in ipairs(PARTS) do
  local part = H.require(name)
  for k, v in pairs(part) do
    if k == "__meta" then
      for mk, mv in pairs(v) do meta[mk] = mv end
    else
      ngx[k] = v
    end
  end
end

-- dynamic fields (ngx.status, ngx.headers_sent, ...): getters/setters by name
local getters, setters = meta.get or {}, meta.set or {}
return setmetatable(ngx, {
  __index = function(_, k)
    local g = getters[k]
    if g then return g() end
  end,
  __newindex = function(t, k, v)
    local s = setters[k]
    if s then return s(v) end
    rawset(t, k, v)
  end,
})

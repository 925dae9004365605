-- resty.openidc: lua-resty-openidc's resource-server half, what API plugins use to
-- accept tokens from an OpenID Connect provider:
--
--   openidc.get_discovery_doc(opts)                  -> discovery table, err
--   openidc.call_token_endpoint(opts, endpoint, body, auth, endpoint_name, ignore_body)
--   openidc.call_userinfo_endpoint(opts, access_token)
--   openidc.introspect(opts)                         -> token info, err (RFC 7662)
--   openidc.jwt_verify(access_token, opts, claim_spec...)
--   openidc.bearer_jwt_verify(opts, claim_spec...)   -> claims, err, access_token
--   openidc.revoke_token(opts, token_type_hint, token), openidc.invalidate_caches(),
--   openidc.set_logging(log, levels)
--
-- opts as lua-resty-openidc reads them (discovery URL or table, client_id/secret,
-- token_endpoint_auth_method / introspection_endpoint_auth_method, ssl_verify,
-- keepalive, timeout, public_key / symmetric_key, token_signing_alg_values_expected,
-- accept_none_alg, iat_slack, introspection_* and auth_accept_token_as*).  Results
-- are cached in the ngx.shared dicts `discovery`, `jwks`, `introspection` and
-- `jwt_verification` when they exist, as upstream does.  The browser login flow
-- (`authenticate`, `access_token`) needs resty.session, which Moongate does not
-- provide: those two raise an error saying so.
local _, H = ...
local ngx = H.ngx
local http = H.require "resty.http"
local cjson = H.require "cjson"
local cjson_s = H.require "cjson.safe"
local require = H.require

local type, pairs, ipairs, tostring, error, select = type, pairs, ipairs, tostring, error, select
local concat = table.concat
local sub, find, lower, match, gsub = string.sub, string.find, string.lower, string.match, string.gsub

local openidc = { _VERSION = "1.8.0" }
openidc.__index = openidc

local log, DEBUG, ERROR = ngx.log, ngx.DEBUG, ngx.ERR

-- the shared dict of `kind`, when the operator configured one
local function cache_get(kind, key)
  local dict = ngx.shared[kind]
  return dict and dict:get(key) or nil
end

local function cache_set(kind, key, value, ttl)
  local dict = ngx.shared[kind]
  if dict and ttl > 0 then dict:set(key, value, ttl) end
end

function openidc.invalidate_caches()
  for _, kind in ipairs({ "discovery", "jwks", "introspection", "jwt_verification" }) do
    local dict = ngx.shared[kind]
    if dict then dict:flush_all() end
  end
end

local function apply_timeouts(httpc, timeout)
  if type(timeout) == "table" then
    httpc:set_timeouts(timeout.connect or 0, timeout.send or 0, timeout.read or 0)
  elseif timeout then
    httpc:set_timeout(timeout)
  end
end

-- one HTTP exchange with the provider, with the options every call shares
local function fetch(opts, url, params)
  local httpc = http.new()
  apply_timeouts(httpc, opts.timeout)
  if type(opts.proxy_opts) == "table" then httpc:set_proxy_options(opts.proxy_opts) end
  params.ssl_verify = opts.ssl_verify ~= "no"
  params.keepalive = opts.keepalive ~= "no"
  if type(opts.http_request_decorator) == "function" then params = opts.http_request_decorator(params) end
  return httpc:request_uri(url, params)
end

-- a provider's JSON answer: the table, or nil and why
local function json_answer(res, ignore_body_on_success)
  if res.status ~= 200 then
    return nil, "response indicates failure, status=" .. res.status .. ", body=" .. tostring(res.body)
  end
  if ignore_body_on_success then return nil, nil end
  local decoded = cjson_s.decode(res.body)
  if not decoded then return nil, "JSON decoding failed" end
  return decoded, nil
end

local function discover(opts)
  local url = opts.discovery
  local cached = cache_get("discovery", url)
  if cached then return cjson.decode(cached) end
  local res, err = fetch(opts, url, {})
  if not res then
    err = "accessing discovery url (" .. url .. ") failed: " .. tostring(err)
    log(ERROR, err)
    return nil, err
  end
  local doc
  doc, err = json_answer(res)
  if not doc then
    err = "could not decode JSON from Discovery data" .. (err and (": " .. err) or "")
    log(ERROR, err)
    return nil, err
  end
  cache_set("discovery", url, cjson.encode(doc), opts.discovery_expires_in or 24 * 60 * 60)
  return doc
end

-- opts.discovery given as a URL becomes the discovered table (nil or the error)
local function ensure_discovered(opts)
  if type(opts.discovery) ~= "string" then return nil end
  local doc, err = discover(opts)
  if doc then opts.discovery = doc end
  return err
end

function openidc.get_discovery_doc(opts)
  local err = ensure_discovered(opts)
  if err then log(ERROR, "error getting endpoints definition using discovery endpoint") end
  return opts.discovery, err
end

local function basic(opts)
  return "Basic " .. ngx.encode_base64(ngx.escape_uri(opts.client_id) .. ":" .. ngx.escape_uri(opts.client_secret or ""))
end

function openidc.call_token_endpoint(opts, endpoint, body, auth, endpoint_name, ignore_body_on_success)
  local name = endpoint_name or "token"
  if not endpoint then return nil, "no endpoint URI for " .. name end
  local headers = { ["Content-Type"] = "application/x-www-form-urlencoded" }
  if auth == "client_secret_basic" then
    headers.Authorization = basic(opts)
  elseif auth == "client_secret_post" then
    body.client_id = opts.client_id
    body.client_secret = opts.client_secret
  elseif auth == "private_key_jwt" or auth == "client_secret_jwt" then
    local private = auth == "private_key_jwt"
    local key = private and opts.client_rsa_private_key or opts.client_secret
    if not key then return nil, "Can't use " .. auth .. " without a key." end
    local now = ngx.time()
    body.client_id = opts.client_id
    body.client_assertion_type = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
    body.client_assertion = require("resty.jwt"):sign(key, {
      header = { typ = "JWT", alg = private and "RS256" or "HS256", kid = private and opts.client_rsa_private_key_id or nil },
      payload = {
        iss = opts.client_id, sub = opts.client_id, aud = endpoint, jti = ngx.var.request_id,
        iat = now, exp = now + (opts.client_jwt_assertion_expires_in or 60),
      },
    })
  end
  if opts.pass_cookies and ngx.var.http_cookie then
    local cookies = {}
    for cookie in string.gmatch(opts.pass_cookies, "%S+") do
      local value = ngx.var["cookie_" .. cookie]
      if value then cookies[#cookies + 1] = cookie .. "=" .. value end
    end
    headers.Cookie = concat(cookies, "; ")
  end
  local res, err = fetch(opts, endpoint, { method = "POST", body = ngx.encode_args(body), headers = headers })
  if not res then
    err = "accessing " .. name .. " endpoint (" .. endpoint .. ") failed: " .. tostring(err)
    log(ERROR, err)
    return nil, err
  end
  return json_answer(res, ignore_body_on_success)
end

function openidc.call_userinfo_endpoint(opts, access_token)
  local err = ensure_discovered(opts)
  if err then return nil, err end
  local endpoint = type(opts.discovery) == "table" and opts.discovery.userinfo_endpoint
  if not endpoint then return nil, nil end
  local res
  res, err = fetch(opts, endpoint, { headers = { Authorization = "Bearer " .. access_token } })
  if not res then return nil, "accessing (" .. endpoint .. ") failed: " .. tostring(err) end
  if find(lower(res.headers["Content-Type"] or ""), "application/jwt", 1, true) then
    local claims, jwt_err = openidc.jwt_verify(res.body, opts)
    if jwt_err then return nil, "userinfo jwt could not be verified: " .. jwt_err end
    return claims
  end
  return json_answer(res)
end

---------------------------------------------------------------------------------
-- the bearer token of the request
---------------------------------------------------------------------------------
local function first(v) return type(v) == "table" and v[1] or v end

local function trim(s) return s and (gsub(s, "^%s*(.-)%s*$", "%1")) end

local function bearer_from_cookie(opts)
  local name = match(opts.auth_accept_token_as, "^cookie:(.+)$") or "PA.global"
  local token = ngx.var["cookie_" .. name]
  if not token then return nil, "no Cookie " .. name .. " found" end
  return token
end

local function bearer_token(opts)
  local accept_as = opts.auth_accept_token_as or "header"
  if find(accept_as, "cookie", 1, true) == 1 then return bearer_from_cookie(opts) end
  local header = trim(first(ngx.req.get_headers()[opts.auth_accept_token_as_header_name or "Authorization"]))
  if header == nil then return nil, "no Authorization header found" end
  local space = find(header, " ", 1, true)
  if not space or lower(sub(header, 1, space - 1)) ~= "bearer" then
    return nil, "no Bearer authorization header value found"
  end
  local token = sub(header, space + 1)
  if token == "" then return nil, "no Bearer access token value found" end
  return token
end

---------------------------------------------------------------------------------
-- introspection (RFC 7662)
---------------------------------------------------------------------------------
local function introspection_endpoint(opts)
  if opts.introspection_endpoint then return opts.introspection_endpoint end
  local err = ensure_discovered(opts)
  if err then return nil, "opts.introspection_endpoint not said and " .. err end
  return type(opts.discovery) == "table" and opts.discovery.introspection_endpoint or nil
end

local function cache_prefix(opts, ...)
  local parts = { opts.cache_segment and gsub(opts.cache_segment, ",", "_") or "DEFAULT", ... }
  return concat(parts, ",") .. ":"
end

function openidc.introspect(opts)
  local token, err = bearer_token(opts)
  if not token then
    log(ERROR, err)
    return nil, err
  end
  local endpoint
  endpoint, err = introspection_endpoint(opts)
  if err then return nil, err end
  local key = cache_prefix(opts, endpoint or "nil-endpoint", opts.client_id or "no-client_id",
    opts.client_secret and "secret" or "no-client_secret") .. token
  local cached = not opts.introspection_cache_ignore and cache_get("introspection", key)
  if cached then
    local info = cjson.decode(cached)
    if not info or not info.active then return info, "invalid cached token" end
    return info
  end
  local body = { [opts.introspection_token_param_name or "token"] = token }
  body.client_id, body.client_secret = opts.client_id, opts.client_secret
  for k, v in pairs(opts.introspection_params or {}) do body[k] = v end
  local info
  info, err = openidc.call_token_endpoint(opts, endpoint, body, opts.introspection_endpoint_auth_method, "introspection")
  if not info then return nil, err end
  if not info.active and not opts.introspection_enable_negative_cache then return info, "invalid token" end
  local claim = opts.introspection_expiry_claim or "exp"
  if not opts.introspection_cache_ignore and type(info[claim]) == "number" then
    local ttl = claim == "exp" and info[claim] - ngx.time() or info[claim]
    local interval = opts.introspection_interval or 0
    if interval > 0 and ttl > interval then ttl = interval end
    cache_set("introspection", key, cjson.encode(info), ttl)
  end
  if not info.active then return info, "invalid token" end
  return info
end

---------------------------------------------------------------------------------
-- JWT access tokens
---------------------------------------------------------------------------------
local function pem_certificate(der_b64)
  local lines = {}
  for i = 1, #der_b64, 64 do lines[#lines + 1] = sub(der_b64, i, i + 63) end
  return "-----BEGIN CERTIFICATE-----\n" .. concat(lines, "\n") .. "\n-----END CERTIFICATE-----\n"
end

-- the signing key of `kid` from the provider's JWKS (RSA keys for signing only)
local function jwks_key(keys, kid)
  local rsa = {}
  for _, k in pairs(keys or {}) do
    if k.kty == "RSA" and (not k.use or k.use == "sig") then rsa[#rsa + 1] = k end
  end
  if kid == nil then
    if #rsa == 1 then return rsa[1] end
    return nil, "JWT doesn't specify kid but the keystore contains multiple RSA keys"
  end
  for _, k in ipairs(rsa) do
    if k.kid == kid then return k end
  end
  return nil, "RSA key with id " .. kid .. " not found"
end

local function fetch_jwks(opts, url, force)
  if not force then
    local cached = cache_get("jwks", url)
    if cached then return cjson.decode(cached) end
  end
  local res, err = fetch(opts, url, {})
  if not res then return nil, "accessing jwks url (" .. url .. ") failed: " .. tostring(err) end
  local jwks
  jwks, err = json_answer(res)
  if jwks then cache_set("jwks", url, cjson.encode(jwks), opts.jwk_expires_in or 24 * 60 * 60) end
  return jwks, err
end

-- the PEM of the provider's key `kid` (a certificate from x5c, or the RSA public key)
local function pem_from_jwks(opts, kid)
  local err = ensure_discovered(opts)
  if err then return nil, err end
  local uri = type(opts.discovery) == "table" and opts.discovery.jwks_uri
  if type(uri) ~= "string" or uri == "" then return nil, "opts.discovery.jwks_uri is not present or not a string" end
  local cache_id = uri .. "#" .. (kid or "")
  local cached = cache_get("jwks", cache_id)
  if cached then return cached end
  local jwk
  for _, force in ipairs({ false, true }) do -- a key not found: the provider may have rotated
    local jwks
    jwks, err = fetch_jwks(opts, uri, force)
    if err then return nil, err end
    jwk, err = jwks_key(jwks.keys, kid)
    if jwk then break end
  end
  if not jwk then return nil, err end
  local pem
  if type(jwk.x5c) == "table" and jwk.x5c[1] then
    pem = pem_certificate(jwk.x5c[1])
  elseif jwk.n and jwk.e then
    local pk, perr = require("resty.openssl.pkey").new(cjson.encode({ kty = "RSA", n = jwk.n, e = jwk.e }))
    if not pk then return nil, perr end
    pem = pk:tostring("public", "PEM")
  else
    return nil, "don't know how to create RSA key/cert for " .. cjson.encode(jwk)
  end
  cache_set("jwks", cache_id, pem, opts.jwk_expires_in or 24 * 60 * 60)
  return pem
end

local function alg_expected(alg, expected)
  if expected == nil or alg == nil then return true end
  if type(expected) == "string" then return expected == alg end
  for _, a in ipairs(expected) do
    if a == alg then return true end
  end
  return false
end

local function unsigned(enc_header, enc_payload)
  local r_jwt = require "resty.jwt"
  local header = cjson_s.decode(r_jwt:jwt_decode(enc_header) or "")
  if not header or header.alg ~= "none" then return nil end
  return { header = header, payload = cjson_s.decode(r_jwt:jwt_decode(enc_payload) or ""), valid = true, verified = false }
end

local function load_and_verify(opts, token, ...)
  local r_jwt = require "resty.jwt"
  local enc_header, enc_payload, signature = match(token, "^(.+)%.(.+)%.(.*)$")
  if enc_payload and signature == "" then
    local jwt = unsigned(enc_header, enc_payload)
    if jwt then
      if opts.accept_none_alg then return jwt end
      return jwt, 'token uses "none" alg but accept_none_alg is not enabled'
    end
  end
  local jwt_obj = r_jwt:load_jwt(token)
  if not jwt_obj.valid then return nil, "invalid jwt" .. (jwt_obj.reason and (": " .. jwt_obj.reason) or "") end
  local alg = jwt_obj.header and jwt_obj.header.alg
  if not alg_expected(alg, opts.token_signing_alg_values_expected) then
    return nil, 'token is signed by unexpected algorithm "' .. tostring(alg or "no algorithm at all") .. '"'
  end
  local secret
  if type(alg) == "string" and sub(alg, 1, 2) == "RS" then
    secret = opts.public_key or opts.secret
    if not secret and opts.discovery then
      local err
      secret, err = pem_from_jwks(opts, jwt_obj.header.kid)
      if not secret then
        log(ERROR, err)
        return nil, err
      end
    end
  elseif type(alg) == "string" and sub(alg, 1, 2) == "HS" then
    secret = opts.symmetric_key or opts.secret
  end
  if select("#", ...) == 0 then -- the default exp/nbf checks use the configured slack
    require("resty.jwt-validators").set_system_leeway(opts.iat_slack or 120)
  end
  jwt_obj = r_jwt:verify_jwt_obj(secret, jwt_obj, ...)
  if not jwt_obj.verified then
    return jwt_obj, "jwt signature verification failed" .. (jwt_obj.reason and (": " .. jwt_obj.reason) or "")
  end
  return jwt_obj
end

function openidc.jwt_verify(access_token, opts, ...)
  local expected = opts.token_signing_alg_values_expected
  if type(expected) == "string" then expected = { expected } end
  local key = cache_prefix(opts, opts.public_key or "no-pubkey", opts.symmetric_key or "no-symkey",
    (opts.accept_none_alg and "none" or "no-none") .. (expected and ("," .. concat(expected, ",")) or "")) .. access_token
  local claims, err
  local cached = not opts.jwt_verification_cache_ignore and cache_get("jwt_verification", key)
  if cached then
    claims = cjson.decode(cached)
  else
    local jwt_obj
    jwt_obj, err = load_and_verify(opts, access_token, ...)
    if not err then
      claims = jwt_obj.payload
      if not opts.jwt_verification_cache_ignore then
        cache_set("jwt_verification", key, cjson.encode(claims), claims.exp and claims.exp - ngx.time() or 120)
      end
    end
  end
  if claims and claims.exp and claims.exp + (opts.iat_slack or 120) < ngx.time() then
    err = "JWT expired"
  end
  return claims, err
end

function openidc.bearer_jwt_verify(opts, ...)
  local token, err = bearer_token(opts)
  if not token then
    log(ERROR, err)
    return nil, err
  end
  local claims
  claims, err = openidc.jwt_verify(token, opts, ...)
  return claims, err, token
end

function openidc.revoke_token(opts, token_type_hint, token)
  local err = ensure_discovered(opts)
  if err then return false, err end
  local endpoint = opts.revocation_endpoint or (type(opts.discovery) == "table" and opts.discovery.revocation_endpoint)
  if not endpoint then return false, "no revocation endpoint" end
  local _, call_err = openidc.call_token_endpoint(opts, endpoint, { token = token, token_type_hint = token_type_hint },
    opts.revocation_endpoint_auth_method or opts.token_endpoint_auth_method, "revocation", true)
  return call_err == nil, call_err
end

local function needs_session(name)
  return function()
    error("resty.openidc: " .. name .. " needs resty.session (the browser login flow), which Moongate "
      .. "does not provide; bearer tokens work (introspect, bearer_jwt_verify)", 2)
  end
end
openidc.authenticate = needs_session("authenticate")
openidc.access_token = needs_session("access_token")
openidc.revoke_tokens = needs_session("revoke_tokens")

function openidc.set_logging(new_log, levels)
  log = new_log or ngx.log
  levels = levels or {}
  DEBUG, ERROR = levels.DEBUG or ngx.DEBUG, levels.ERROR or ngx.ERR
end

return openidc

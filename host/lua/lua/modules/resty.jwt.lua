-- resty.jwt (lua-resty-jwt, the cdbattags/SkyLothar library most community JWT
-- plugins use): signed JWTs (JWS).
--   jwt:sign(secret, { header = { typ = "JWT", alg = "HS256", kid = ... }, payload = {...} })
--                                            -> token (raises {reason = ...} on error)
--   jwt:load_jwt(token)                      -> jwt_obj {valid, verified, reason, header,
--                                               payload, signature, raw_header, raw_payload}
--   jwt:verify(secret, token, claim_spec...) -> jwt_obj (verified = true when the
--                                               signature and every claim spec pass)
--   jwt:verify_jwt_obj(secret, jwt_obj, claim_spec...)
--   jwt:set_alg_whitelist({RS256 = 1}), jwt:get_default_validation_options(jwt_obj),
--   jwt:set_payload_encoder(fn) / set_payload_decoder(fn), jwt:jwt_encode / jwt_decode,
--   jwt:set_x5u_content_retriever(fn), jwt.new()
-- Algorithms: HS256/384/512 (the secret may be a function of the header's kid),
-- RS/PS256/384/512 and ES256/384/512 (a PEM key, or a PEM certificate to verify with),
-- EdDSA.  Claim specs are tables of validators (resty.jwt-validators), or the legacy
-- options {valid_issuers, lifetime_grace_period, require_exp_claim, require_nbf_claim}.
-- Not provided: encrypted tokens (JWE) and certificate chains (set_trusted_certs_file):
-- they fail with a reason naming what is missing.  Crypto is resty.openssl.*; the
-- Python half (host/lua/modules/resty_jwt.py) only reads a certificate's public key.
local B, H = ...
local cjson = H.require("cjson.safe")
local b64 = H.require("ngx.base64")
local mac = H.require("resty.openssl.mac")
local pkey = H.require("resty.openssl.pkey")

local type, error, pcall, tostring, setmetatable, pairs, ipairs, select =
  type, error, pcall, tostring, setmetatable, pairs, ipairs, select
local find, gmatch, rep, fmt, gsub = string.find, string.gmatch, string.rep, string.format, string.gsub
local PSS = pkey.PADDINGS.RSA_PKCS1_PSS_PADDING

local AWESOME = "everything is awesome~ :p"
local INVALID = "invalid jwt string"

local _M = { _VERSION = "0.2.4" }
local mt = { __index = _M }

local function fail(reason) error({ reason = reason }, 0) end

function _M.jwt_encode(self, s, is_payload)
  if type(s) == "table" then
    local encode = is_payload and self and self.payload_encoder or cjson.encode
    s = encode(s)
  end
  return (b64.encode_base64url(s))
end

function _M.jwt_decode(self, s, json, is_payload)
  if type(s) ~= "string" then return nil end
  local missing = #s % 4
  if missing > 0 then s = s .. rep("=", 4 - missing) end
  local data = b64.decode_base64url(s)
  if data == nil or not json then return data end
  local decode = is_payload and self and self.payload_decoder or cjson.decode
  return decode(data)
end

local function parse(self, token)
  if type(token) ~= "string" then fail(INVALID) end
  local parts = {}
  for part in gmatch(token, "[^%.]+") do parts[#parts + 1] = part end
  if #parts == 4 or #parts == 5 then fail("encrypted JWTs (JWE) are not supported by Moongate") end
  if #parts ~= 3 then fail(INVALID) end
  local header = _M.jwt_decode(self, parts[1], true)
  if type(header) ~= "table" then fail("invalid header: " .. parts[1]) end
  local payload = _M.jwt_decode(self, parts[2], true, true)
  if payload == nil then
    payload = _M.jwt_decode(self, parts[2], false)   -- not JSON: the raw payload (RFC 7515)
    if payload == nil then fail("invalid payload: " .. parts[2]) end
  end
  return { typ = "JWT", raw_header = parts[1], raw_payload = parts[2], header = header,
    payload = payload, signature = parts[3] }
end

local function raw_part(self, name, jwt_obj)
  local raw = jwt_obj["raw_" .. name]
  if raw ~= nil then return raw end
  local part = jwt_obj[name]
  if part == nil then fail("missing part " .. name) end
  return _M.jwt_encode(self, part, name == "payload")
end

local function hmac_secret(secret, jwt_obj)
  if type(secret) == "function" then
    local kid = jwt_obj.header.kid
    if kid == nil then fail("secret function specified without kid in header") end
    return secret(kid) or fail("function returned nil for kid: " .. tostring(kid))
  end
  if type(secret) ~= "string" then fail("invalid secret type (must be string or function)") end
  return secret
end

local FAMILY, DIGEST, RAW_ECDSA = {}, {}, { ES256 = true, ES384 = true, ES512 = true }
for _, bits in ipairs({ "256", "384", "512" }) do
  for _, f in ipairs({ "HS", "RS", "PS", "ES" }) do
    FAMILY[f .. bits], DIGEST[f .. bits] = f, "sha" .. bits
  end
end
FAMILY.EdDSA, FAMILY.Ed25519, FAMILY.Ed448 = "Ed", "Ed", "Ed"

-- a key from `secret`: a PEM key, or a certificate's public key
local function load_key(secret)
  if type(secret) ~= "string" then return nil, "no key provided" end
  if find(secret, "CERTIFICATE", 1, true) then
    local pem, err = B.cert_public_key(secret)
    if pem == nil then return nil, err end
    secret = pem
  end
  return pkey.new(secret)
end

local function pk_options(alg)
  if FAMILY[alg] == "PS" then return PSS, nil end
  if RAW_ECDSA[alg] then return nil, { ecdsa_use_raw = true } end
  return nil, nil
end

function _M.sign(self, secret, jwt_obj)
  local header = jwt_obj.header
  if type(header) ~= "table" then fail("missing part header") end
  local typ = header.typ
  if typ ~= nil and typ ~= "JWT" and typ ~= "JWE" then fail("invalid typ: " .. tostring(typ)) end
  if typ == "JWE" or header.enc ~= nil then fail("encrypted JWTs (JWE) are not supported by Moongate") end
  local message = raw_part(self, "header", jwt_obj) .. "." .. raw_part(self, "payload", jwt_obj)
  local alg = header.alg
  local family, signature = FAMILY[alg], nil
  if family == "HS" then
    signature = mac.new(hmac_secret(secret, jwt_obj), "HMAC", nil, DIGEST[alg]):final(message)
  elseif family ~= nil then
    local pk, err = load_key(secret)
    if not pk then fail("signer error: " .. tostring(err)) end
    local padding, opts = pk_options(alg)
    signature, err = pk:sign(message, DIGEST[alg], padding, opts)
    if not signature then fail("signer error: " .. tostring(err)) end
  else
    fail("unsupported alg: " .. tostring(alg))
  end
  return message .. "." .. _M.jwt_encode(self, signature)
end

function _M.load_jwt(self, token)
  local ok, obj = pcall(parse, self, token)
  if not ok then
    return { valid = false, verified = false, reason = type(obj) == "table" and obj.reason or INVALID }
  end
  obj.verified, obj.valid = false, true
  return obj
end

---------------------------------------------------------------------------------
-- claims
---------------------------------------------------------------------------------
local LEGACY = { valid_issuers = true, lifetime_grace_period = true, require_exp_claim = true,
  require_nbf_claim = true }

local function is_legacy(spec)
  if type(spec) ~= "table" or next(spec) == nil then return false end
  for k in pairs(spec) do
    if not LEGACY[k] then return false end
  end
  return true
end

local function legacy_spec(options)
  local v = H.require("resty.jwt-validators")
  local spec = {}
  if options.valid_issuers ~= nil then spec.iss = v.equals_any_of(options.valid_issuers) end
  local grace = options.lifetime_grace_period
  if grace ~= nil then
    v.set_system_leeway(grace or 0)
    if options.require_nbf_claim ~= true and options.require_exp_claim ~= true then
      spec.__jwt = v.require_one_of({ "nbf", "exp" })
    end
  end
  for _, k in ipairs({ "require_nbf_claim", "require_exp_claim" }) do
    if options[k] ~= nil and type(options[k]) ~= "boolean" then
      error(fmt("'%s' validation option is expected to be a boolean.", k), 0)
    end
  end
  if grace ~= nil or options.require_nbf_claim ~= nil or options.require_exp_claim ~= nil then
    spec.nbf = options.require_nbf_claim == true and v.is_not_before() or v.opt_is_not_before()
    spec.exp = options.require_exp_claim == true and v.is_not_expired() or v.opt_is_not_expired()
  end
  return spec
end

function _M.get_default_validation_options(self, jwt_obj)
  local p = jwt_obj.payload
  local t = type(p) == "table"
  return { require_exp_claim = t and p.exp ~= nil or false, require_nbf_claim = t and p.nbf ~= nil or false }
end

local function validate_claims(self, jwt_obj, ...)
  local specs = { ... }
  if select("#", ...) == 0 then specs[1] = _M.get_default_validation_options(self, jwt_obj) end
  if jwt_obj.reason ~= nil then return false end
  local json = cjson.encode(jwt_obj)
  for _, spec in ipairs(specs) do
    if is_legacy(spec) then spec = legacy_spec(spec) end
    for claim, fx in pairs(spec) do
      if type(fx) ~= "function" then
        error("Claim spec value must be a function - see jwt-validators.lua for helper functions", 0)
      end
      local val
      if claim == "__jwt" then val = cjson.decode(json)
      elseif type(jwt_obj.payload) == "table" then val = jwt_obj.payload[claim] end
      local ok, ret = pcall(fx, val, claim, json)
      if not ok then
        jwt_obj.reason = type(ret) == "table" and ret.reason or gsub(tostring(ret), "^.-:%d-: ", "")
        return false
      elseif ret == false then
        jwt_obj.reason = fmt("Claim '%s' ('%s') returned failure", claim, tostring(val))
        return false
      end
    end
  end
  return true
end

---------------------------------------------------------------------------------
-- verification
---------------------------------------------------------------------------------
local function check_signature(self, secret, jwt_obj, alg)
  local family = FAMILY[alg]
  if family == "HS" then
    local ok, token = pcall(_M.sign, self, secret, jwt_obj)
    if not ok then return type(token) == "table" and token.reason or "internal error" end
    local expected = jwt_obj.raw_header .. "." .. jwt_obj.raw_payload .. "." .. jwt_obj.signature
    if token ~= expected then return "signature mismatch: " .. tostring(jwt_obj.signature) end
    return nil
  end
  if family == nil then return "Unsupported algorithm " .. tostring(alg) end
  if self.trusted_certs_file ~= nil then
    return "verifying against trusted certificate files (x5c, x5u) is not supported by Moongate"
  end
  if secret == nil then return family == "Ed" and "Failed to load EdDSA public key: no key provided"
    or "No trusted certs loaded" end
  local pk, err = load_key(secret)
  if not pk then
    if family == "Ed" then return "Failed to load EdDSA public key: " .. tostring(err) end
    return "Decode secret is not a valid cert/public key"
  end
  local sig = _M.jwt_decode(self, jwt_obj.signature, false)
  if not sig then return "Wrongly encoded signature" end
  local message = jwt_obj.raw_header .. "." .. jwt_obj.raw_payload
  local padding, opts = pk_options(alg)
  local ok
  if family == "Ed" then ok, err = pk:verify(sig, message)
  else ok, err = pk:verify(sig, message, DIGEST[alg], padding, opts) end
  if ok ~= true then return err or "signature verification failed" end
  return nil
end

function _M.verify_jwt_obj(self, secret, jwt_obj, ...)
  if not jwt_obj.valid then return jwt_obj end
  if not validate_claims(self, jwt_obj, ...) then return jwt_obj end
  local alg = jwt_obj.header.alg
  if alg == nil then
    jwt_obj.reason = "No algorithm supplied"
    return jwt_obj
  end
  if self.alg_whitelist ~= nil and self.alg_whitelist[alg] == nil then
    return { verified = false, reason = "whitelist unsupported alg: " .. tostring(alg) }
  end
  local reason = check_signature(self, secret, jwt_obj, alg)
  if reason then
    jwt_obj.reason = reason
  else
    jwt_obj.verified, jwt_obj.reason = true, AWESOME
  end
  return jwt_obj
end

function _M.verify(self, secret, token, ...)
  local jwt_obj = _M.load_jwt(self, token)
  if not jwt_obj.valid then return { verified = false, reason = jwt_obj.reason } end
  return _M.verify_jwt_obj(self, secret, jwt_obj, ...)
end

---------------------------------------------------------------------------------
-- settings (on the module table, as the library keeps them)
---------------------------------------------------------------------------------
function _M.set_alg_whitelist(self, algorithms) self.alg_whitelist = algorithms end
function _M.set_trusted_certs_file(self, filename) self.trusted_certs_file = filename end

function _M.set_x5u_content_retriever(self, fn)
  if type(fn) ~= "function" then error("'retriever_function' is expected to be a function", 0) end
  self.x5u_content_retriever = fn
end

function _M.set_payload_encoder(self, fn)
  if type(fn) ~= "function" then fail("payload encoder must be function") end
  self.payload_encoder = fn
end

function _M.set_payload_decoder(self, fn)
  if type(fn) ~= "function" then fail("payload decoder must be function") end
  self.payload_decoder = fn
end

function _M.new() return setmetatable({}, mt) end

return _M

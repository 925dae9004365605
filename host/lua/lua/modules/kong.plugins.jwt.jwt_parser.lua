-- kong.plugins.jwt.jwt_parser: the JWT parser of Kong's bundled jwt plugin, which
-- third-party JWT plugins (jwt-keycloak, claims-to-headers, upstream signers, ...)
-- require directly.  Moongate's jwt plugin is Python, so this module stands alone:
--   jwt, err = parser:new(token)      -- header, claims, signature and their *_64 parts
--   jwt:verify_signature(key)         -- true | false (raises on an unusable key)
--   jwt:verify_registered_claims({"exp", "nbf"}) -> ok, errors
--   jwt:check_maximum_expiration(seconds)        -> ok, errors
--   parser:base64_decode(s) / jwt:base64_decode(s)  (base64url, padding optional)
--   parser.encode(claims, key, alg?, header?)       -> token
-- Algorithms: HS256/384/512, RS256/384/512, PS256/384/512, ES256/384/512 (JWS raw
-- r||s signatures) and EdDSA, built on resty.openssl.{mac,digest,pkey} (one crossing
-- to Python per signature).
local _, H = ...
local cjson = H.require("cjson")
local b64 = H.require("ngx.base64")
local mac = H.require("resty.openssl.mac")
local pkey = H.require("resty.openssl.pkey")
local ngx = H.ngx

local type, error, pcall, tostring, setmetatable, getmetatable, pairs =
  type, error, pcall, tostring, setmetatable, getmetatable, pairs
local find, sub, rep, concat = string.find, string.sub, string.rep, table.concat
local PSS = pkey.PADDINGS.RSA_PKCS1_PSS_PADDING

local function hmac(md)
  return function(data, key)
    return mac.new(key, "HMAC", nil, md):final(data)
  end
end

local function load_key(key)
  local pk = pkey.new(key)
  if not pk then error("Consumer Public Key is Invalid", 0) end
  return pk
end

-- signers: (data, key) -> raw signature
local SIGN = {
  HS256 = hmac("sha256"), HS384 = hmac("sha384"), HS512 = hmac("sha512"),
  EdDSA = function(data, key) return (assert(load_key(key):sign(data))) end,
}
-- verifiers: (data, signature, key) -> boolean
local VERIFY = {
  EdDSA = function(data, sig, key) return load_key(key):verify(sig, data) == true end,
}
for _, bits in pairs({ "256", "384", "512" }) do
  local md = "sha" .. bits
  local hs = SIGN["HS" .. bits]
  VERIFY["HS" .. bits] = function(data, sig, key) return sig == hs(data, key) end
  SIGN["RS" .. bits] = function(data, key) return (assert(load_key(key):sign(data, md))) end
  VERIFY["RS" .. bits] = function(data, sig, key)
    return load_key(key):verify(sig, data, md) == true
  end
  SIGN["PS" .. bits] = function(data, key) return (assert(load_key(key):sign(data, md, PSS))) end
  VERIFY["PS" .. bits] = function(data, sig, key)
    return load_key(key):verify(sig, data, md, PSS) == true
  end
  -- JWS ECDSA signatures are r||s: 64, 96 and 132 bytes (RFC 7518 §3.4)
  local raw_len = ({ ["256"] = 64, ["384"] = 96, ["512"] = 132 })[bits]
  SIGN["ES" .. bits] = function(data, key)
    return (assert(load_key(key):sign(data, md, nil, { ecdsa_use_raw = true })))
  end
  VERIFY["ES" .. bits] = function(data, sig, key)
    local pk = load_key(key)
    if #sig ~= raw_len then error("Signature must be " .. raw_len .. " bytes.", 0) end
    return pk:verify(sig, data, md, nil, { ecdsa_use_raw = true }) == true
  end
end

--- base64url decoding with the padding JWTs leave out.
local function b64_decode(s)
  local missing = #s % 4
  if missing > 0 then s = s .. rep("=", 4 - missing) end
  return b64.decode_base64url(s)
end

local _M = {}
_M.__index = _M

--- Parse `token`; nil, err when it is not a JWT with a supported alg.
function _M:new(token)
  if type(token) ~= "string" then
    error("Token must be a string, got " .. tostring(token), 2)
  end
  local d1 = find(token, ".", 1, true)
  local d2 = d1 and find(token, ".", d1 + 1, true)
  local header_64 = sub(token, 1, (d1 or 0) - 1)
  local claims_64 = d1 and sub(token, d1 + 1, (d2 or 0) - 1) or ""
  local signature_64 = d2 and sub(token, d2 + 1) or ""
  local ok, header, claims, signature = pcall(function()
    return cjson.decode(b64_decode(header_64)), cjson.decode(b64_decode(claims_64)),
      b64_decode(signature_64)
  end)
  if not ok or type(header) ~= "table" then return nil, "invalid JSON" end
  if type(header.alg) ~= "string" or not VERIFY[header.alg] then return nil, "invalid alg" end
  if type(claims) ~= "table" then return nil, "invalid claims" end
  if not signature then return nil, "invalid signature" end
  return setmetatable({
    token = token, header = header, claims = claims, signature = signature,
    header_64 = header_64, claims_64 = claims_64, signature_64 = signature_64,
  }, _M)
end

--- Whether the token's signature is valid for `key` (secret or PEM public key).
function _M:verify_signature(key)
  return VERIFY[self.header.alg](self.header_64 .. "." .. self.claims_64, self.signature, key)
end

function _M:base64_decode(input)
  return b64_decode(input)
end

local LIST_MT = {}

local function add_error(errors, name, msg)
  errors = errors or {}
  local prev = errors[name]
  if prev == nil then
    errors[name] = msg
  else
    if getmetatable(prev) ~= LIST_MT then
      prev = setmetatable({ prev }, LIST_MT)
      errors[name] = prev
    end
    prev[#prev + 1] = msg
  end
  return errors
end

local CLAIM_CHECKS = {
  exp = function(v) if v <= ngx.time() then return "token expired" end end,
  nbf = function(v) if v > ngx.time() then return "token not valid yet" end end,
}

--- Check the registered claims named in `names` ("exp", "nbf"): ok, errors.
function _M:verify_registered_claims(names)
  local errors
  for _, name in pairs(names or {}) do
    local value = self.claims[name]
    if type(value) ~= "number" then
      errors = add_error(errors, name, "must be a number")
    else
      local msg = CLAIM_CHECKS[name](value)
      if msg then errors = add_error(errors, name, msg) end
    end
  end
  return errors == nil, errors
end

--- false, {exp = ...} when `exp` is missing or further away than `maximum` seconds.
function _M:check_maximum_expiration(maximum)
  if maximum <= 0 then return true end
  local exp = self.claims.exp
  if exp == nil or exp - ngx.time() > maximum then
    return false, { exp = "exceeds maximum allowed expiration" }
  end
  return true
end

--- Sign `data` into a compact JWT (the jwt plugin's test helper, used to mint tokens).
function _M.encode(data, key, alg, header)
  if type(data) ~= "table" then error("Argument #1 must be table", 2) end
  if type(key) ~= "string" then error("Argument #2 must be string", 2) end
  if header ~= nil and type(header) ~= "table" then error("Argument #4 must be a table", 2) end
  alg = alg or "HS256"
  local sign = SIGN[alg]
  if not sign then error("Algorithm not supported", 2) end
  local input = b64.encode_base64url(cjson.encode(header or { typ = "JWT", alg = alg }))
    .. "." .. b64.encode_base64url(cjson.encode(data))
  return concat({ input, b64.encode_base64url(sign(input, key)) }, ".")
end

return _M

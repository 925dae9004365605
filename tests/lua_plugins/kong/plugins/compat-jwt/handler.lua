-- compat-jwt: a JWT plugin written the way third-party ones are (jwt-keycloak,
-- jwt-claims-to-headers): it requires Kong's jwt parser, checks the signature with
-- the configured secret or public key, the registered claims and the maximum
-- expiration, and forwards the claims as headers.  `X-Mint: <alg>` asks it to sign a
-- token with parser.encode instead (the jwt plugin's test helper).
local jwt_decoder = require "kong.plugins.jwt.jwt_parser"

local CompatJwt = { PRIORITY = 1006, VERSION = "1.0.0" }

local function bearer()
  local auth = kong.request.get_header("authorization")
  if auth then
    local m = ngx.re.match(auth, [[\s*[Bb]earer\s+(.+)]], "jo")
    if m then return m[1] end
  end
end

function CompatJwt:access(conf)
  local mint = kong.request.get_header("x-mint")
  if mint then
    local token = jwt_decoder.encode({ sub = "minted", iss = conf.issuer }, conf.signing_key or conf.secret, mint)
    return kong.response.exit(200, { token = token })
  end
  local token = bearer()
  if not token then
    return kong.response.exit(401, { message = "Unauthorized" })
  end
  local jwt, err = jwt_decoder:new(token)
  if not jwt then
    return kong.response.exit(401, { message = "Bad token; " .. tostring(err) })
  end
  if jwt.header.alg ~= conf.algorithm then
    return kong.response.exit(403, { message = "Invalid algorithm" })
  end
  local key = conf.public_key or conf.secret
  if conf.key_base64 then key = jwt:base64_decode(key) end
  if not jwt:verify_signature(key) then
    return kong.response.exit(401, { message = "Invalid signature" })
  end
  local ok, errors = jwt:verify_registered_claims(conf.claims_to_verify)
  if not ok then
    return kong.response.exit(401, errors)
  end
  if conf.maximum_expiration > 0 then
    local ok2, errors2 = jwt:check_maximum_expiration(conf.maximum_expiration)
    if not ok2 then return kong.response.exit(403, errors2) end
  end
  for name, value in pairs(jwt.claims) do
    if type(value) ~= "table" then
      kong.service.request.set_header("X-Jwt-Claim-" .. name, tostring(value))
    end
  end
  kong.service.request.set_header("X-Jwt-Parts", #jwt.header_64 .. "," .. #jwt.claims_64 .. "," .. #jwt.signature_64)
end

return CompatJwt

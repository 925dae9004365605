-- compat-resty-jwt: the shape of community JWT plugins built on lua-resty-jwt.  A bearer
-- token is verified with jwt:verify and claim validators (issuer, expiry); a failure
-- answers 401 with lua-resty-jwt's reason.  The upstream gets the subject and a new
-- HS256 token carrying the original claims plus `via`, signed with jwt:sign.
local jwt = require "resty.jwt"
local validators = require "resty.jwt-validators"

local kong = kong

local CompatRestyJwt = {
  PRIORITY = 1005,
  VERSION = "1.0.0",
}

local function bearer()
  local header = kong.request.get_header("authorization")
  if not header then
    return nil
  end
  return header:match("^[Bb]earer%s+(%S+)$")
end

function CompatRestyJwt:access(conf)
  local token = bearer()
  if not token then
    return kong.response.exit(401, { message = "no bearer token" })
  end

  local spec = { exp = validators.opt_is_not_expired(), nbf = validators.opt_is_not_before() }
  if #conf.issuers > 0 then
    spec.iss = validators.equals_any_of(conf.issuers)
  end
  if conf.algorithms then
    local allowed = {}
    for _, alg in ipairs(conf.algorithms) do allowed[alg] = 1 end
    jwt:set_alg_whitelist(allowed)
  end
  local obj = jwt:verify(conf.verify_key, token, spec)
  jwt:set_alg_whitelist(nil)
  if not obj.verified then
    return kong.response.exit(401, { message = obj.reason })
  end

  local claims = obj.payload
  claims.via = "moongate"
  local signed = jwt:sign(conf.upstream_secret, {
    header = { typ = "JWT", alg = "HS256", kid = obj.header.kid },
    payload = claims,
  })
  kong.service.request.set_header(conf.upstream_header, signed)
  kong.service.request.set_header("X-JWT-Sub", tostring(claims.sub))
  kong.service.request.set_header("X-JWT-Alg", obj.header.alg)
end

return CompatRestyJwt

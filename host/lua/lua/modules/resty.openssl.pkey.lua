-- resty.openssl.pkey (lua-resty-openssl): private and public keys.
--   pk, err = pkey.new(pem_der_or_jwk_text, { format = "*", type = "*", passphrase = })
--   pk, err = pkey.new({ type = "RSA", bits = 2048, exp = 65537 }) -- or EC (curve),
--                                                              -- Ed25519, Ed448, X25519, X448
--   pk:sign(message, md_alg?, padding?, opts?) / pk:sign(digest)      -> signature
--   pk:verify(signature, message, md_alg?, padding?, opts?) / (sig, digest) -> true | false, err
--   pk:encrypt(txt, padding?, opts?), pk:decrypt(txt, padding?, opts?)  (RSA)
--   pk:to_PEM(private_or_public?), pk:tostring(private_or_public?, "PEM" | "DER" | "JWK"),
--   pk:is_private(), pk:get_key_type(nid_only?), pk:get_size(), pkey.istype(pk),
--   pkey.PADDINGS
-- opts: pss_saltlen, mgf1_md, oaep_md, ecdsa_use_raw (JWS's r||s signatures).
-- Errors are `nil, err`, as in the library.  An object is a table of closures holding
-- the key's PEM text; the Python half (host/lua/modules/resty_openssl_pkey.py, with
-- `cryptography`) caches the parsed key, so each operation is one crossing.
-- Not provided (they return nil, err): composing keys from parameters
-- (get_parameters / set_parameters), derive, sign_raw / verify_raw / verify_recover,
-- PKCS#1 output, DH and DSA keys.
local B, H = ...
H.require("resty.openssl.digest")

local type, setmetatable, tostring = type, setmetatable, tostring
local digest_input = H.openssl_digest_input
local py_load, py_generate, py_sign, py_verify, py_export, py_crypt =
  B.load, B.generate, B.sign, B.verify, B.export, B.crypt

local EMPTY = {}

-- OpenSSL's NID, short name, long name and OID of each key type
local KEY_TYPES = {
  RSA = { nid = 6, sn = "RSA", ln = "rsaEncryption", id = "1.2.840.113549.1.1.1" },
  EC = { nid = 408, sn = "id-ecPublicKey", ln = "id-ecPublicKey", id = "1.2.840.10045.2.1" },
  Ed25519 = { nid = 1087, sn = "ED25519", ln = "ED25519", id = "1.3.101.112" },
  Ed448 = { nid = 1088, sn = "ED448", ln = "ED448", id = "1.3.101.113" },
  X25519 = { nid = 1034, sn = "X25519", ln = "X25519", id = "1.3.101.110" },
  X448 = { nid = 1035, sn = "X448", ln = "X448", id = "1.3.101.111" },
}

local KEYS = setmetatable({}, { __mode = "k" })   -- objects made here

local _M = {
  PADDINGS = {
    RSA_PKCS1_PADDING = 1,
    RSA_SSLV23_PADDING = 2,
    RSA_NO_PADDING = 3,
    RSA_PKCS1_OAEP_PADDING = 4,
    RSA_X931_PADDING = 5,
    RSA_PKCS1_PSS_PADDING = 6,
  },
}

local function which_part(private_or_public)
  if private_or_public == nil or private_or_public == "public" or private_or_public == "PublicKey" then
    return false
  elseif private_or_public == "private" or private_or_public == "PrivateKey" then
    return true
  end
  return nil
end

local function new_key(pem, key_type, private, size)
  local pk = {}

  -- (data, md) to sign or verify: a message string or a digest object
  local function input(what, message, md_alg, op)
    if type(message) == "string" then return message, md_alg end
    local algo, data, finalized = digest_input(message)
    if not algo then
      return nil, "pkey:" .. op .. ": expect a digest instance or a string at #" .. what
    end
    if finalized then return nil, "pkey:" .. op .. ": the digest was already finalized" end
    if key_type ~= "RSA" and key_type ~= "EC" then
      return nil, "pkey:" .. op .. ": signing a digest instance needs an RSA or EC key"
    end
    return data, algo, true
  end

  function pk.sign(_, message, md_alg, padding, opts)
    if not private then return nil, "pkey:sign: missing private key" end
    local data, md, from_digest = input(1, message, md_alg, "sign")
    if data == nil then return nil, md end
    if from_digest then padding = nil end
    opts = type(opts) == "table" and opts or EMPTY
    return py_sign(pem, data, md, padding, opts.pss_saltlen, opts.ecdsa_use_raw and true or false,
                   opts.mgf1_md)
  end

  function pk.verify(_, signature, message, md_alg, padding, opts)
    if type(signature) ~= "string" then return nil, "pkey:verify: expect a string at #1" end
    local data, md, from_digest = input(2, message, md_alg, "verify")
    if data == nil then return nil, md end
    if from_digest then padding = nil end
    opts = type(opts) == "table" and opts or EMPTY
    return py_verify(pem, signature, data, md, padding, opts.pss_saltlen,
                     opts.ecdsa_use_raw and true or false, opts.mgf1_md)
  end

  function pk.encrypt(_, txt, padding, opts)
    if type(txt) ~= "string" then return nil, "pkey:asymmetric_routine: expect a string at #1" end
    return py_crypt(pem, txt, false, padding, (type(opts) == "table" and opts or EMPTY).oaep_md)
  end

  function pk.decrypt(_, txt, padding, opts)
    if type(txt) ~= "string" then return nil, "pkey:asymmetric_routine: expect a string at #1" end
    return py_crypt(pem, txt, true, padding, (type(opts) == "table" and opts or EMPTY).oaep_md)
  end

  function pk.tostring(_, private_or_public, fmt, is_pkcs1)
    local want_private = which_part(private_or_public)
    if want_private == nil then
      return nil, "pkey:tostring: expect \"public\", \"PublicKey\", \"private\" or \"PrivateKey\" at #1"
    end
    fmt = fmt or "PEM"
    if is_pkcs1 then
      if fmt ~= "PEM" or key_type ~= "RSA" then
        return nil, "PKCS#1 format is only supported to encode RSA key in \"PEM\" format"
      end
      return nil, "writing out RSA key in PKCS#1 format is not supported in OpenSSL 3.0"
    end
    if fmt ~= "PEM" and fmt ~= "DER" and fmt ~= "JWK" then
      return nil, "pkey:tostring: format " .. tostring(fmt) .. " is not available in Moongate (PEM, DER and JWK are)"
    end
    return py_export(pem, want_private, fmt)
  end

  function pk.to_PEM(self, private_or_public, is_pkcs1)
    return pk.tostring(self, private_or_public, "PEM", is_pkcs1)
  end

  function pk.is_private() return private end

  function pk.get_size() return size end

  function pk.get_key_type(_, nid_only)
    local t = KEY_TYPES[key_type]
    if nid_only then return t.nid end
    return { nid = t.nid, sn = t.sn, ln = t.ln, id = t.id }
  end

  KEYS[pk] = true
  return pk
end

function _M.new(s, opts)
  local pem, key_type, private, size
  if s == nil or type(s) == "table" then
    s = s or EMPTY
    if s.params then
      return nil, "pkey.new:new_key: composing a key from parameters is not available in Moongate"
    end
    pem, key_type, private, size = py_generate(s.type, s.bits, s.exp, s.curve)
  elseif type(s) == "string" then
    opts = type(opts) == "table" and opts or EMPTY
    local passphrase = opts.passphrase
    if passphrase == nil and type(opts.passphrase_cb) == "function" then
      passphrase = opts.passphrase_cb()
    end
    if passphrase ~= nil and type(passphrase) ~= "string" then
      return nil, "pkey.new:load_key: passphrase must be a string"
    end
    pem, key_type, private, size = py_load(s, opts.format, opts.type, passphrase)
  else
    return nil, "pkey.new: unexpected type " .. type(s) .. " at #1"
  end
  if pem == nil then return nil, key_type end
  return new_key(pem, key_type, private, size), nil
end

function _M.istype(pk)
  return type(pk) == "table" and KEYS[pk] == true
end

return _M

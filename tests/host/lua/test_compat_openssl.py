"""``resty.openssl.digest`` / ``hmac`` / ``mac`` / ``rand`` / ``pkey`` / ``kdf``: results
checked against lua-resty-openssl's documented outputs, RFC test vectors and an
independent implementation (``cryptography`` / PyJWT)."""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from host.lua.runtime import LuaHost

SWAN = "\U0001f9a2".encode()


@pytest.fixture(scope="module")
def host() -> LuaHost:
    return LuaHost()


def run(host: LuaHost, src: str, *args: Any) -> Any:
    fn = host.compile_in("openssl-test", src)
    return fn(*args)


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def pem(key: Any, private: bool = True) -> bytes:
    if private:
        return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption())
    return key.public_key().public_bytes(serialization.Encoding.PEM,
                                         serialization.PublicFormat.SubjectPublicKeyInfo)


# -- digest / hmac / mac / rand -----------------------------------------------------------------


def test_documented_digest_and_mac_outputs(host):
    got = run(host, """
        local swan = ...
        local d = require("resty.openssl.digest").new("sha256")
        d:update(swan)
        local a = ngx.encode_base64(d:final())
        local b = ngx.encode_base64(require("resty.openssl.digest").new("sha256"):final(swan))
        local m = require("resty.openssl.mac").new("goose", "HMAC", nil, "sha256")
        m:update(swan)
        local h = require("resty.openssl.hmac").new("goose", "sha256")
        return a, b, ngx.encode_base64(m:final()), ngx.encode_base64(h:final(swan))
    """, SWAN)
    assert got == (b"tWW/2P/uOa/yIV1gRJySJLsHq1xwg0E1RWCvEUDlla0=",) * 2 + (
        b"k2UcrRp25tj1Spff89mJF3fAVQ0lodq/tJT53EYXp0c=",) * 2


@pytest.mark.parametrize(("name", "hashlib_name"), [
    ("md5", "md5"), ("SHA1", "sha1"), ("sha224", "sha224"), ("SHA2-256", "sha256"), ("sha384", "sha384"),
    ("sha512", "sha512"), ("sha512-256", "sha512_256"), ("sha3-256", "sha3_256"), ("blake2b512", "blake2b"),
])
def test_incremental_digests_match_hashlib(host, name, hashlib_name):
    chunks = [b"a", b"", b"\x00\xff" * 300] + [b"%d" % i for i in range(200)]
    got = run(host, """
        local name, chunks = ...
        local d = assert(require("resty.openssl.digest").new(name))
        for _, c in ipairs(chunks) do assert(d:update(c) == true) end
        return d:final()
    """, name.encode(), host.to_lua(chunks))
    assert got == hashlib.new(hashlib_name, b"".join(chunks)).digest()


def test_digest_defaults_reset_and_several_chunks_per_update(host):
    got = run(host, """
        local digest = require "resty.openssl.digest"
        local d = digest.new()
        assert(d:update("ab", "c"))
        local first = d:final()
        local again, err = d:final()
        assert(d:reset())
        d:update("abc")
        return first, again, err, d:final(), digest.new("null"):final("x"), digest.istype(d), digest.istype({})
    """)
    sha1 = hashlib.sha1(b"abc").digest()
    assert got == (sha1, None, b"digest:final: final() was called, call reset() first", sha1, b"", True, False)


def test_hmac_rfc4231_and_default_digest(host):
    got = run(host, """
        local mac, hmac = require "resty.openssl.mac", require "resty.openssl.hmac"
        local data = "what do ya want for nothing?"
        return mac.new("Jefe", "hmac", nil, "SHA512"):final(data), hmac.new("Jefe"):final(data),
               mac.istype(mac.new("k", "HMAC", nil, "sha1")), hmac.istype(mac.new("k", "HMAC", nil, "sha1"))
    """)
    data = b"what do ya want for nothing?"
    assert got == (hmac.new(b"Jefe", data, "sha512").digest(), hmac.new(b"Jefe", data, "sha1").digest(),
                   True, False)
    assert hmac.new(b"Jefe", data, "sha256").hexdigest() == (
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")


def test_errors_are_nil_err(host):
    got = run(host, """
        local digest, mac, hmac, rand = require "resty.openssl.digest", require "resty.openssl.mac",
            require "resty.openssl.hmac", require "resty.openssl.rand"
        local r = {}
        local function add(...) r[#r + 1] = select(2, ...) end
        add(digest.new("sha999"))
        add(mac.new("k", "HMAC", nil, "nope"))
        add(mac.new("k", "HMAC"))
        add(mac.new("k", "CMAC", "aes-128-cbc"))
        add(mac.new("k", "FOO", nil, "sha256"))
        add(hmac.new("k", "nope"))
        add(rand.bytes("8"))
        add(rand.bytes(8, false, "x"))
        return r
    """)
    assert host.to_python(got) == [
        'digest.new: invalid digest type "sha999"',
        "mac.new: invalid cipher or digest type",
        "mac.new: invalid cipher or digest type",
        'mac.new: mac type "CMAC" is not available in Moongate (HMAC is)',
        'mac.new: invalid mac type "FOO"',
        'hmac.new: invalid digest type "nope"',
        "rand.bytes: expect a number at #1",
        "rand.bytes: expect a number at #3",
    ]


def test_update_needs_strings_and_rand_gives_random_bytes(host):
    ok, err = run(host, 'local d = require("resty.openssl.digest").new() return pcall(d.update, d, "a", 1)')
    assert ok is False and b"bad argument #2 to 'update' (string expected, got number)" in err
    got = run(host, 'local rand = require "resty.openssl.rand" return rand.bytes(32), rand.bytes(32, true), #rand.bytes(0)')
    assert len(got[0]) == len(got[1]) == 32 and got[0] != got[1] and got[2] == 0


# -- pkey ------------------------------------------------------------------------------------


def test_rsa_signatures_interoperate_with_cryptography(host, rsa_key):
    sig_pkcs1, sig_pss, sig_digest = run(host, """
        local pkey, digest = require "resty.openssl.pkey", require "resty.openssl.digest"
        local k = assert(pkey.new(...))
        local d = digest.new("sha384")
        d:update("do", "g")
        return k:sign("dog"), k:sign("dog", "sha256", pkey.PADDINGS.RSA_PKCS1_PSS_PADDING), k:sign(d)
    """, pem(rsa_key))
    public = rsa_key.public_key()
    public.verify(sig_pkcs1, b"dog", padding.PKCS1v15(), hashes.SHA256())
    public.verify(sig_pss, b"dog", padding.PSS(padding.MGF1(hashes.SHA256()), 32), hashes.SHA256())
    public.verify(sig_digest, b"dog", padding.PKCS1v15(), hashes.SHA384())

    token = jwt.encode({"sub": "x"}, rsa_key, algorithm="PS512")
    signing_input, _, signature = token.rpartition(".")
    got = run(host, """
        local pkey = require "resty.openssl.pkey"
        local k = assert(pkey.new((...)))
        local data, sig = select(2, ...)
        local pss = pkey.PADDINGS.RSA_PKCS1_PSS_PADDING
        local bad, err = k:verify(sig, data .. "x", "sha512", pss)
        return k:verify(sig, data, "sha512", pss), bad, err, k:is_private(), k:get_size(), k:get_key_type().ln
    """, pem(rsa_key, private=False), signing_input.encode(), base64.urlsafe_b64decode(signature + "=="))
    assert got == (True, False, b"pkey:verify: bad signature", False, 256, b"rsaEncryption")


def test_ecdsa_raw_signatures_for_jws(host):
    key = ec.generate_private_key(ec.SECP256R1())
    raw, der = run(host, """
        local k = assert(require("resty.openssl.pkey").new(...))
        return k:sign("payload", "sha256", nil, { ecdsa_use_raw = true }), k:sign("payload")
    """, pem(key))
    assert len(raw) == 64
    r, s = int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big")
    key.public_key().verify(encode_dss_signature(r, s), b"payload", ec.ECDSA(hashes.SHA256()))
    key.public_key().verify(der, b"payload", ec.ECDSA(hashes.SHA256()))
    got = run(host, """
        local k = assert(require("resty.openssl.pkey").new((...)))
        local raw = select(2, ...)
        local bad, err = k:verify(raw .. "x", "payload", "sha256", nil, { ecdsa_use_raw = true })
        return k:verify(raw, "payload", "sha256", nil, { ecdsa_use_raw = true }), bad, err, k:get_key_type(true)
    """, pem(key, private=False), raw)
    assert got == (True, None, b"pkey:verify: ecdsa.sig_raw2der: invalid signature length", 408)


def test_ed25519_rfc8032_vector(host):
    secret = bytes.fromhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
    key = ed25519.Ed25519PrivateKey.from_private_bytes(secret)
    got = run(host, """
        local k = assert(require("resty.openssl.pkey").new(...))
        local sig = k:sign("")
        local pub = assert(require("resty.openssl.pkey").new(k:to_PEM("public")))
        return sig, pub:verify(sig, ""), pub:get_key_type().sn, pub:tostring("public", "DER")
    """, pem(key))
    assert got[0].hex() == (
        "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b")
    assert got[1:3] == (True, b"ED25519")
    assert got[3].endswith(bytes.fromhex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"))


def test_key_generation_loading_and_export(host, rsa_key):
    got = run(host, """
        local pkey = require "resty.openssl.pkey"
        local ec = assert(pkey.new({ type = "EC", curve = "secp384r1" }))
        local rsa = assert(pkey.new({ bits = 1024 }))
        local loaded = assert(pkey.new((...), { format = "PEM", type = "pu" }))
        local from_der = assert(pkey.new(loaded:tostring("public", "DER")))
        return ec:get_size(), rsa:get_size(), ec:is_private(), loaded:is_private(),
               loaded:to_PEM() == from_der:to_PEM(), pkey.istype(ec), pkey.istype({})
    """, pem(rsa_key))
    assert got == (104, 128, True, False, True, True, False)
    public_pem = run(host, "return require('resty.openssl.pkey').new(...):to_PEM('public')", pem(rsa_key))
    assert public_pem == pem(rsa_key, private=False)


def test_jwk_keys_load(host, rsa_key):
    jwk = jwt.algorithms.RSAAlgorithm.to_jwk(rsa_key.public_key())
    sig = rsa_key.sign(b"m", padding.PKCS1v15(), hashes.SHA256())
    got = run(host, "local k = assert(require('resty.openssl.pkey').new((...))) return k:verify(select(2, ...), 'm')",
              jwk.encode(), sig)
    assert got is True


def _b64int(text: str) -> int:
    return int.from_bytes(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)), "big")


def test_keys_write_jwk(host, rsa_key):
    """``pk:tostring(part, "JWK")`` (jwt-resign publishes its key so): the members are the
    key's own numbers, and the private JWK loads back as the same key."""
    import json

    got = run(host, """
        local pkey = require "resty.openssl.pkey"
        local k = assert(pkey.new((...)))
        local pub, priv = k:tostring("public", "JWK"), k:tostring("PrivateKey", "JWK")
        local back = assert(pkey.new(priv, { format = "JWK" }))
        local ec = assert(pkey.new({ type = "EC", curve = "prime256v1" }))
        local ed = assert(pkey.new({ type = "Ed25519" }))
        return pub, priv, back:sign("m", "sha256"), ec:tostring("public", "JWK"), ed:tostring("private", "JWK")
    """, pem(rsa_key))
    pub, priv, sig, ec_jwk, ed_jwk = json.loads(got[0]), json.loads(got[1]), got[2], json.loads(got[3]), json.loads(got[4])
    numbers = rsa_key.private_numbers()
    assert pub == {"kty": "RSA", "n": pub["n"], "e": "AQAB"}
    assert _b64int(pub["n"]) == numbers.public_numbers.n
    assert (_b64int(priv["d"]), _b64int(priv["p"]), _b64int(priv["q"])) == (numbers.d, numbers.p, numbers.q)
    rsa_key.public_key().verify(sig, b"m", padding.PKCS1v15(), hashes.SHA256())  # raises when wrong
    assert ec_jwk["kty"] == "EC" and ec_jwk["crv"] == "P-256" and "d" not in ec_jwk
    assert len(base64.urlsafe_b64decode(ec_jwk["x"] + "==")) == 32
    assert ed_jwk["kty"] == "OKP" and ed_jwk["crv"] == "Ed25519" and "d" in ed_jwk


def test_pkey_errors(host, rsa_key):
    got = run(host, """
        local pkey = require "resty.openssl.pkey"
        local r = {}
        local function add(...) r[#r + 1] = select(2, ...) end
        local pub = pkey.new((...), { type = "pu" })
        add(pkey.new("not a key"))
        add(pkey.new(42))
        add(pkey.new({ type = "DSA" }))
        add(pkey.new({ type = "EC", curve = "nope" }))
        add(pub:sign("x"))
        add(pub:verify(1, "x"))
        add(pub:verify("s", 1))
        add(pub:to_PEM("secret"))
        add(pub:to_PEM("public", true))
        add(pkey.new((...), { format = "XML" }))
        return r
    """, pem(rsa_key))
    assert host.to_python(got) == [
        "pkey.new:load_key: could not read a key from the DER text",
        "pkey.new: unexpected type number at #1",
        "pkey.new:new_key: unsupported type DSA",
        "pkey.new:new_key: unknown curve nope",
        "pkey:sign: missing private key",
        "pkey:verify: expect a string at #1",
        "pkey:verify: expect a digest instance or a string at #2",
        'pkey:tostring: expect "public", "PublicKey", "private" or "PrivateKey" at #1',
        "writing out RSA key in PKCS#1 format is not supported in OpenSSL 3.0",
        "pkey.new:load_key: expecting 'DER', 'PEM', 'JWK' or '*' as \"format\"",
    ]


def test_rsa_encrypt_decrypt(host, rsa_key):
    got = run(host, """
        local pkey = require "resty.openssl.pkey"
        local priv = assert(pkey.new(...))
        local pub = assert(pkey.new(priv:to_PEM("public")))
        local oaep = pkey.PADDINGS.RSA_PKCS1_OAEP_PADDING
        local s1 = assert(pub:encrypt("swan"))
        local s2 = assert(pub:encrypt("swan", oaep, { oaep_md = "sha256" }))
        return #s1, priv:decrypt(s1), priv:decrypt(s2, oaep, { oaep_md = "sha256" }), select(2, pub:decrypt(s1))
    """, pem(rsa_key))
    assert got == (256, b"swan", b"swan", b"pkey:asymmetric_routine: missing private key")


# -- kdf ---------------------------------------------------------------------------------------


def test_kdf_documented_outputs_and_rfc_vectors(host):
    got = run(host, """
        local kdf = require "resty.openssl.kdf"
        local a = kdf.derive({ type = kdf.PBKDF2, outlen = 16, pass = "1234567", md = "md5", pbkdf2_iter = 1000 })
        local b = kdf.derive({ type = kdf.SCRYPT, outlen = 16, pass = "1234567", scrypt_N = 1024, scrypt_r = 8,
                               scrypt_p = 16 })
        local k = assert(kdf.new("PBKDF2"))
        local c = k:derive(20, { pass = "password", salt = "salt", iter = 1, digest = "sha1" })
        assert(k:reset())
        local h = assert(kdf.new("hkdf"))
        local d = h:derive(42, { key = string.rep("\\11", 22), digest = "sha256",
                                 salt = "\\0\\1\\2\\3\\4\\5\\6\\7\\8\\9\\10\\11\\12",
                                 info = "\\240\\241\\242\\243\\244\\245\\246\\247\\248\\249" })
        return ngx.encode_base64(a), ngx.encode_base64(b), c, d, kdf.istype(k)
    """)
    assert got[:2] == (b"cDRFLQ7NWt+AP4i0TdBzog==", b"9giFtxace5sESmRb8qxuOw==")
    assert got[2].hex() == "0c60c80f961f0e71f3a9b524af6012062fe037a6"  # RFC 6070
    assert got[3].hex() == (  # RFC 5869 test case 1
        "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865")
    assert got[4] is True
    oauth2_style = run(host, """
        local k = require("resty.openssl.kdf").new("PBKDF2")
        return k:derive(32, { pass = "secret", salt = "0123456789abcdef", digest = "sha512", iter = 10000 }, 4)
    """)
    assert oauth2_style == hashlib.pbkdf2_hmac("sha512", b"secret", b"0123456789abcdef", 10000, 32)


def test_kdf_errors(host):
    got = run(host, """
        local kdf = require "resty.openssl.kdf"
        local r = {}
        local function add(...) r[#r + 1] = select(2, ...) end
        add(kdf.new("TLS1-PRF"))
        add(kdf.derive({ outlen = 1 }))
        add(kdf.derive({ type = kdf.TLS1_PRF, outlen = 1 }))
        add(kdf.derive({ type = kdf.HKDF, outlen = 1 }))
        add(kdf.new("PBKDF2"):derive(16, { pass = "p", digest = "nope" }))
        return r
    """)
    assert host.to_python(got) == [
        'kdf.new: invalid kdf type "TLS1-PRF"',
        'kdf.derive: "type" must be set',
        "kdf.derive: unknown type 1021",
        'kdf.derive: "hkdf_key" must be set',
        "kdf:derive: invalid digest type",
    ]

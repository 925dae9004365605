"""``resty.aes`` and ``resty.openssl.cipher`` against known answers: NIST SP 800-38A
vectors, and OpenSSL's own EVP_BytesToKey output (``openssl enc -P``) for the key
derivation community plugins use (dablon/kong-plugin-aes, svenwal's
upstream-basic-auth-encrypted)."""

from __future__ import annotations

import base64

from host.lua.runtime import LuaHost
from tests.conftest import service
from tests.host.lua.test_smoke import LUA_PLUGINS

# NIST SP 800-38A F.2.1 (CBC-AES128.Encrypt), first block
NIST_KEY = "2b7e151628aed2a6abf7158809cf4f3c"
NIST_IV = "000102030405060708090a0b0c0d0e0f"
NIST_PLAIN = "6bc1bee22e409f96e93d7e117393172a"
NIST_CIPHER = "7649abac8119b246cee98e9b12e9197d"
# `openssl enc -aes-256-cbc -md md5 -S 3132333435363738 -pass pass:secret -P`
OPENSSL_KEY = "7ee080c6739056454793b9864669d85f2d06f361067a22fdf7eee3109c8cbdc6"
OPENSSL_IV = "8bdce420bfb8cd33e85370ea108d6683"


def run(src: str) -> tuple[bytes, ...]:
    return LuaHost().compile_in("t", src)()  # type: ignore[no-any-return]


def test_cipher_matches_nist_and_round_trips() -> None:
    out = run(
        f"""
        local cipher, str = require 'resty.openssl.cipher', require 'resty.string'
        local function bin(h) return (h:gsub('..', function(x) return string.char(tonumber(x, 16)) end)) end
        local c = assert(cipher.new('AES-128-CBC'))
        local ct = c:encrypt(bin('{NIST_KEY}'), bin('{NIST_IV}'), bin('{NIST_PLAIN}'), true)
        c:init(bin('{NIST_KEY}'), bin('{NIST_IV}'), {{ is_encrypt = false, no_padding = true }})
        local streamed = c:update(ct) .. c:final()
        local g = assert(cipher.new('aes-256-gcm'))
        local k, n = string.rep('k', 32), string.rep('n', 12)
        local sealed = g:encrypt(k, n, 'secret text', false, 'header')
        local tag = g:get_aead_tag()
        return str.to_hex(ct), str.to_hex(streamed), g:decrypt(k, n, sealed, false, 'header', tag),
          select(2, g:decrypt(k, n, sealed, false, 'other header', tag)),
          select(2, c:encrypt('short', bin('{NIST_IV}'), 'x')), select(2, cipher.new('des-ede3-cbc'))
        """
    )
    assert out == (
        NIST_CIPHER.encode(),
        NIST_PLAIN.encode(),
        b"secret text",
        b"cipher:decrypt: authentication tag mismatch",
        b"cipher:encrypt: incorrect key length, expect 16",
        b'cipher.new: invalid cipher type "des-ede3-cbc"',
    )


def test_aes_derives_keys_as_openssl_does() -> None:
    out = run(
        """
        local aes, str, cipher = require 'resty.aes', require 'resty.string', require 'resty.openssl.cipher'
        local c = assert(cipher.new('aes-256-cbc'))
        local key, iv = c:derive('secret', '12345678', 1, 'md5')
        local a = assert(aes:new('secret', '12345678', aes.cipher(256, 'cbc'), aes.hash.md5))
        local same = c:encrypt(key, iv, 'hello') == a:encrypt('hello')
        local strong = assert(aes:new('secret', '12345678', aes.cipher(256, 'cbc'), aes.hash.sha512, 5))
        local raw = assert(aes:new(string.rep('r', 16), nil, aes.cipher(128, 'cbc'), { iv = string.rep('i', 16) }))
        return str.to_hex(key), str.to_hex(iv), same, strong:decrypt(strong:encrypt('p@ssw0rd')),
          raw:decrypt(raw:encrypt('raw key')), select(2, aes:new('k', 'not-8-chars')),
          select(2, strong:decrypt('not a ciphertext block'))
        """
    )
    assert out == (
        OPENSSL_KEY.encode(),
        OPENSSL_IV.encode(),
        True,
        b"p@ssw0rd",
        b"raw key",
        b"salt must be 8 characters or nil",
        b"cipher:decrypt: The length of the provided data is not a multiple of the block length.",
    )


async def test_a_record_validator_encrypts_the_stored_password(make_gateway, echo_upstream, http, tmp_path):
    # (tests/lua_plugins/kong/plugins/compat-aes: upstream-basic-auth-encrypted's pattern)
    secret = tmp_path / "secret.txt"
    secret.write_bytes(b"the upstream secret")
    conf = {"username": "bob", "password": "p@ss", "secret_file": str(secret)}
    config = {
        "_format_version": "3.0",
        "services": [{**service(echo_upstream), "routes": [{"paths": ["/"]}]}],
        "plugins": [{"name": "compat-aes", "config": conf}],
    }
    gw = await make_gateway(config, plugins_dirs=[LUA_PLUGINS])
    async with http.get(gw.url + "/") as resp:
        headers = {k.lower(): v for k, v in (await resp.json())["headers"].items()}
    assert headers["authorization"] == "Basic " + base64.b64encode(b"bob:p@ss").decode()
    stored = headers["x-stored"]
    assert stored.startswith("AES," + base64.b64encode(b"8charsal").decode() + ",")
    assert "p@ss" not in stored

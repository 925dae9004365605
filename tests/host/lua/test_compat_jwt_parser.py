"""``kong.plugins.jwt.jwt_parser``: Kong's JWT parser as third-party JWT plugins require
it (tests/lua_plugins/kong/plugins/compat-jwt), with tokens minted by PyJWT."""

from __future__ import annotations

import base64
import time
from typing import Any

import jwt as pyjwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from host.lua.runtime import LuaHost
from tests.conftest import service
from tests.host.lua.test_ngx_base import lua_gateway  # noqa: F401 - fixture

RSA = rsa.generate_private_key(public_exponent=65537, key_size=2048)
EC = ec.generate_private_key(ec.SECP256R1())
ED = ed25519.Ed25519PrivateKey.generate()


def pem_public(key: Any) -> str:
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()


def pem_private(key: Any) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def config(upstream: Any, **conf: Any) -> dict[str, Any]:
    return {
        "_format_version": "3.0",
        "services": [{**service(upstream), "routes": [{"paths": ["/"]}]}],
        "plugins": [{"name": "compat-jwt", "config": conf}],
    }


def upstream_header(body: dict[str, Any], name: str) -> str | None:
    """A header the upstream received (names compared case-insensitively)."""
    return {k.lower(): v for k, v in body["headers"].items()}.get(name.lower())


async def call(http: Any, gw: Any, token: str | None = None, **headers: str) -> tuple[int, Any]:
    if token:
        headers["Authorization"] = f"Bearer {token}"
    async with http.get(gw.url + "/x", headers=headers) as resp:
        return resp.status, await resp.json()


async def test_hs256_token_is_verified_and_claims_forwarded(lua_gateway, echo_upstream, http):  # noqa: F811
    gw = await lua_gateway(config(echo_upstream, secret="s3cret-s3cret-s3cret-s3cret-s3cret"))
    good = pyjwt.encode({"sub": "alice", "exp": int(time.time()) + 60}, "s3cret-s3cret-s3cret-s3cret-s3cret")
    status, body = await call(http, gw, good)
    assert status == 200
    assert upstream_header(body, "X-Jwt-Claim-Sub") == "alice"
    header_64, claims_64, sig_64 = good.split(".")
    assert upstream_header(body, "X-Jwt-Parts") == f"{len(header_64)},{len(claims_64)},{len(sig_64)}"
    forged = pyjwt.encode({"sub": "alice", "exp": int(time.time()) + 60}, "another-secret-of-enough-length!!")
    assert await call(http, gw, forged) == (401, {"message": "Invalid signature"})
    assert await call(http, gw) == (401, {"message": "Unauthorized"})
    assert await call(http, gw, "not.a-token") == (401, {"message": "Bad token; invalid JSON"})


async def test_registered_claims_and_maximum_expiration(lua_gateway, echo_upstream, http):  # noqa: F811
    key = "k" * 40
    gw = await lua_gateway(config(echo_upstream, secret=key, claims_to_verify=["exp", "nbf"],
                                  maximum_expiration=100))
    now = int(time.time())
    expired = pyjwt.encode({"exp": now - 10, "nbf": now - 20}, key)
    assert await call(http, gw, expired) == (401, {"exp": "token expired"})
    early = pyjwt.encode({"exp": now + 50, "nbf": now + 30}, key)
    assert await call(http, gw, early) == (401, {"nbf": "token not valid yet"})
    missing = pyjwt.encode({"sub": "x"}, key)
    assert await call(http, gw, missing) == (401, {"exp": "must be a number", "nbf": "must be a number"})
    too_long = pyjwt.encode({"exp": now + 1000, "nbf": now - 1}, key)
    assert await call(http, gw, too_long) == (403, {"exp": "exceeds maximum allowed expiration"})
    fine = pyjwt.encode({"exp": now + 50, "nbf": now - 1}, key)
    assert (await call(http, gw, fine))[0] == 200


@pytest.mark.parametrize(
    ("alg", "signer"),
    [("RS256", RSA), ("RS512", RSA), ("PS256", RSA), ("ES256", EC), ("EdDSA", ED)],
)
async def test_public_key_algorithms(lua_gateway, echo_upstream, http, alg, signer):  # noqa: F811
    gw = await lua_gateway(config(echo_upstream, algorithm=alg, public_key=pem_public(signer)))
    token = pyjwt.encode({"sub": alg, "exp": int(time.time()) + 60}, signer, algorithm=alg)
    status, body = await call(http, gw, token)
    assert status == 200 and upstream_header(body, "X-Jwt-Claim-Sub") == alg
    other = {"RS256": RSA, "RS512": RSA, "PS256": RSA}.get(alg)
    wrong = rsa.generate_private_key(public_exponent=65537, key_size=2048) if other else (
        ec.generate_private_key(ec.SECP256R1()) if alg == "ES256" else ed25519.Ed25519PrivateKey.generate())
    bad = pyjwt.encode({"sub": alg, "exp": int(time.time()) + 60}, wrong, algorithm=alg)
    assert await call(http, gw, bad) == (401, {"message": "Invalid signature"})
    hs = pyjwt.encode({"sub": "x"}, "y" * 40)
    assert await call(http, gw, hs) == (403, {"message": "Invalid algorithm"})


async def test_base64_secret_and_minting(lua_gateway, echo_upstream, http):  # noqa: F811
    raw = b"\x00\x01binary-secret-bytes-\xff" * 2
    secret = base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
    gw = await lua_gateway(config(echo_upstream, secret=secret, key_base64=True, signing_key=pem_private(RSA)))
    token = pyjwt.encode({"sub": "bin", "exp": int(time.time()) + 60}, raw)
    assert (await call(http, gw, token))[0] == 200
    status, body = await call(http, gw, **{"X-Mint": "RS256"})
    assert status == 200
    assert pyjwt.decode(body["token"], RSA.public_key(), algorithms=["RS256"]) == {"sub": "minted", "iss": "compat"}
    status, body = await call(http, gw, **{"X-Mint": "HS999"})
    assert status == 500  # encode raises "Algorithm not supported": the plugin's error, contained


def test_parser_errors_and_unsupported_alg() -> None:
    host = LuaHost()
    fn = host.compile_in("t", """
      local p = require 'kong.plugins.jwt.jwt_parser'
      local none = p:new(...)
      local _, err = p:new(...)
      local ok, raised = pcall(p.new, p, 42)
      local ok2, enc_err = pcall(p.encode, {}, 'k', 'none')
      return err, raised, enc_err
    """)
    unsigned = pyjwt.encode({"a": 1}, None, algorithm="none")
    err, raised, enc_err = fn(unsigned.encode())
    assert err == b"invalid alg"
    assert b"Token must be a string, got 42" in raised
    assert b"Algorithm not supported" in enc_err
